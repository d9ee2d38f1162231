package dockerctl

import (
	"fmt"
	"strings"
	"time"
)

// EventKind names what happened. The names are the JSON output's "event"
// field, a stable interface for editors and scripts.
type EventKind string

const (
	EvProject      EventKind = "project"      // Project, Engine, Builder, GPU (Reason: why CPU)
	EvPlan         EventKind = "plan"         // Steps: the Dockerfile's steps, at start and after a reload
	EvDoctor       EventKind = "doctor"       // a finding of tfdev doctor: Severity, File, Line, Message, Fix
	EvWatch        EventKind = "watch.ready"  // the tree is watched
	EvBuildStart   EventKind = "build.start"  // Reason
	EvBuildStep    EventKind = "build.step"   // Index, Total, Instruction, State, Seconds
	EvBuildDone    EventKind = "build.done"   // Image, Seconds
	EvBuildFailed  EventKind = "build.failed" // Line, Message, Log
	EvStale        EventKind = "stale"        // a rebuild will start at Line because of Paths
	EvContainer    EventKind = "container.start"
	EvContainerEnd EventKind = "container.exit" // Code, Log
	EvJupyter      EventKind = "jupyter.starting"
	EvReady        EventKind = "jupyter.ready" // URL
	EvUnreachable  EventKind = "jupyter.unreachable"
	EvSync         EventKind = "sync"   // Files, Bytes, Ms, Paths
	EvRescue       EventKind = "rescue" // From, To
	EvInfo         EventKind = "info"   // Message
	EvError        EventKind = "error"  // Message
	EvStop         EventKind = "stop"   // Message
)

// Event is the one record the session emits; the terminal UI, the plain
// lines and the JSON lines are all made from it, so they never disagree.
type Event struct {
	Time        time.Time `json:"time"`
	Kind        EventKind `json:"event"`
	Reason      string    `json:"reason,omitempty"`
	Index       int       `json:"index,omitempty"`
	Total       int       `json:"total,omitempty"`
	Line        int       `json:"line,omitempty"`
	File        string    `json:"file,omitempty"`
	Instruction string    `json:"instruction,omitempty"`
	State       string    `json:"state,omitempty"`
	Seconds     float64   `json:"seconds,omitempty"`
	Image       string    `json:"image,omitempty"`
	Container   string    `json:"container,omitempty"`
	Code        *int      `json:"code,omitempty"`
	URL         string    `json:"url,omitempty"`
	Files       int       `json:"files,omitempty"`
	Removed     int       `json:"removed,omitempty"`
	Bytes       int64     `json:"bytes,omitempty"`
	Ms          float64   `json:"ms,omitempty"`
	From        string    `json:"from,omitempty"`
	To          string    `json:"to,omitempty"`
	Conflict    bool      `json:"conflict,omitempty"`
	Message     string    `json:"message,omitempty"`
	Builder     string    `json:"builder,omitempty"`
	GPU         *bool     `json:"gpu,omitempty"`
	Project     string    `json:"project,omitempty"`
	Engine      string    `json:"engine,omitempty"`
	Paths       []string  `json:"paths,omitempty"`
	Log         []string  `json:"log,omitempty"`
	Steps       []StepRow `json:"steps,omitempty"`
	Severity    string    `json:"severity,omitempty"`
	Fix         string    `json:"fix,omitempty"`
}

// StepRow is one Dockerfile step as a UI lists it.
type StepRow struct {
	Index       int    `json:"index"` // as in build.step events
	Stage       int    `json:"stage"`
	StageName   string `json:"stage_name,omitempty"`
	Target      bool   `json:"target"` // in the stage that runs
	Line        int    `json:"line"`
	Kind        string `json:"kind"`
	Instruction string `json:"instruction"`
	Sync        bool   `json:"sync,omitempty"` // synced files land through this step
}

// Plain renders the event as one stable line for a log, a pipe or a VS Code
// task. Build errors take the form FILE:LINE:1: error: MESSAGE so that an
// editor's problem matcher links them.
func (e Event) Plain() string {
	const p = "tfdev: "
	switch e.Kind {
	case EvProject:
		return p + e.Message
	case EvDoctor:
		loc := e.File
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		return fmt.Sprintf("%sdoctor: %s: %s: %s (tfdev doctor shows the fix)", p, loc, e.Severity, e.Message)
	case EvPlan:
		return fmt.Sprintf("%sDockerfile has %d steps", p, len(e.Steps))
	case EvWatch:
		return p + "watching " + e.Message
	case EvBuildStart:
		return fmt.Sprintf("%sbuild started (%s)", p, e.Reason)
	case EvBuildStep:
		s := fmt.Sprintf("%sstep %d/%d %s ... %s", p, e.Index, e.Total, e.Instruction, e.State)
		if e.Seconds > 0 && e.State == string(StepDone) {
			s += fmt.Sprintf(" (%.1fs)", e.Seconds)
		}
		return s
	case EvBuildDone:
		return fmt.Sprintf("%sbuild done in %.1fs (%s, %s)", p, e.Seconds, ShortID(e.Image), e.Builder)
	case EvBuildFailed:
		file := e.File
		if file == "" {
			file = "Dockerfile"
		}
		line := e.Line
		if line == 0 {
			line = 1
		}
		s := fmt.Sprintf("%s:%d:1: error: %s", file, line, e.Message)
		for _, l := range e.Log {
			s += "\n" + p + "  | " + l
		}
		return s
	case EvStale:
		return fmt.Sprintf("%srebuild needed from %s (%s)", p, e.Instruction, strings.Join(e.Paths, ", "))
	case EvContainer:
		return fmt.Sprintf("%scontainer %s started (%s)", p, e.Container, e.Message)
	case EvContainerEnd:
		code := -1
		if e.Code != nil {
			code = *e.Code
		}
		s := fmt.Sprintf("%scontainer %s exited with code %d", p, e.Container, code)
		if e.Message != "" {
			s += ": " + e.Message
		}
		for _, l := range e.Log {
			s += "\n" + p + "  | " + l
		}
		return s
	case EvJupyter:
		return p + "jupyter starting"
	case EvReady:
		return p + "ready " + e.URL
	case EvUnreachable:
		return p + "jupyter unreachable: " + e.Message
	case EvSync:
		s := fmt.Sprintf("%ssynced %d %s (%s) in %s", p, e.Files, plural(e.Files, "file", "files"), HumanBytes(e.Bytes), humanMs(e.Ms))
		if e.Removed > 0 {
			s += fmt.Sprintf(", removed %d", e.Removed)
		}
		return s
	case EvRescue:
		s := fmt.Sprintf("%srescued %s -> %s", p, e.From, e.To)
		if e.Conflict {
			s += " (the host file changed too: compare and merge by hand)"
		}
		return s
	case EvError:
		return p + "error: " + e.Message
	default:
		return p + e.Message
	}
}

// ShortID is an image or container ID as people read it: 12 hex digits.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// HumanBytes renders a size in decimal units: 4.1 KB.
func HumanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
}

func humanMs(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fs", ms/1000)
}
