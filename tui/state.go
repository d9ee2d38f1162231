// Package tui is tfdev's terminal UI: a bubbletea model that renders the
// session's event stream (the same events the plain and JSON outputs print)
// as a header, the Jupyter and container lines, a table of the Dockerfile's
// steps with their states, and the latest activity. It performs no I/O
// itself: keys become requests through the Env it is given, run as tea.Cmds.
//
//	m := tui.New(tui.Env{Request: session.Requests() <- ..., Quit: cancel})
//	p := tea.NewProgram(m, tea.WithAltScreen())
//	session emits -> p.Send(tui.EventMsg(e))
package tui

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl"
)

// Row states, as the layers table shows them.
const (
	RowCached   = "cached"
	RowStale    = "stale"
	RowBuilding = "building"
	RowBuilt    = "built"
	RowFailed   = "failed"
	RowLive     = "live"
)

// Row is one step of the Dockerfile with what is known of it.
type Row struct {
	dockerctl.StepRow
	State    string
	Since    time.Time     // when it started building
	Duration time.Duration // how long it took
	StaleBy  []string      // the changed files that invalidate it
	Synced   int           // files synced through it
	LastSync time.Time
	Log      []string // its last output lines
}

// Item is one line of the activity list.
type Item struct {
	Time time.Time
	Text string
	Err  bool
}

// State is everything the UI shows, built from events by Apply. It is
// plain data: tests make one from a sequence of events.
type State struct {
	Project, Engine, Builder string
	GPU                      bool
	CPUReason                string
	Dockerfile               string

	Jupyter string // starting, ready, unreachable, restarting; "" before a container
	URL     string

	Container      string
	ContainerState string // running, exited (code N), stopped
	ContainerSince time.Time
	Image          string
	BuiltAt        time.Time

	Rows         []Row
	Building     bool
	BuildStarted time.Time
	Activity     []Item
	Stopped      bool
}

const maxActivity = 200

func (s *State) add(t time.Time, err bool, format string, a ...any) {
	s.Activity = append(s.Activity, Item{Time: t, Text: fmt.Sprintf(format, a...), Err: err})
	if len(s.Activity) > maxActivity {
		s.Activity = s.Activity[len(s.Activity)-maxActivity:]
	}
}

func (s *State) row(index int) *Row {
	for i := range s.Rows {
		if s.Rows[i].Index == index {
			return &s.Rows[i]
		}
	}
	return nil
}

func (s *State) rowAtLine(line int) *Row {
	for i := range s.Rows {
		if s.Rows[i].Line == line {
			return &s.Rows[i]
		}
	}
	return nil
}

// Apply folds one event into the state.
func (s *State) Apply(e dockerctl.Event) {
	switch e.Kind {
	case dockerctl.EvProject:
		s.Project, s.Engine, s.Builder = e.Project, e.Engine, e.Builder
		s.GPU = e.GPU != nil && *e.GPU
		s.CPUReason = e.Reason
	case dockerctl.EvPlan:
		old := map[int]Row{}
		for _, r := range s.Rows {
			old[r.Line] = r
		}
		s.Rows = s.Rows[:0]
		s.Dockerfile = e.File
		for _, sr := range e.Steps {
			if sr.Stage < 0 {
				continue // global ARGs build nothing
			}
			r := Row{StepRow: sr}
			if o, ok := old[sr.Line]; ok && o.Instruction == sr.Instruction {
				r.State, r.Duration, r.Synced, r.LastSync = o.State, o.Duration, o.Synced, o.LastSync
			}
			s.Rows = append(s.Rows, r)
		}
	case dockerctl.EvBuildStart:
		s.Building, s.BuildStarted = true, e.Time
		s.add(e.Time, false, "build started (%s)", e.Reason)
	case dockerctl.EvBuildStep:
		r := s.row(e.Index)
		if r == nil {
			return
		}
		r.Log = e.Log
		switch dockerctl.StepState(e.State) {
		case dockerctl.StepRunning:
			r.State, r.Since = RowBuilding, e.Time
		case dockerctl.StepDone:
			r.State, r.Duration, r.StaleBy = RowBuilt, time.Duration(e.Seconds*float64(time.Second)), nil
		case dockerctl.StepCached:
			r.State, r.StaleBy = RowCached, nil
		case dockerctl.StepFailed:
			r.State = RowFailed
		}
	case dockerctl.EvBuildDone:
		s.Building = false
		s.BuiltAt, s.Image = e.Time, e.Image
		switch dockerctl.Builder(e.Builder) { // the builder that ran, which auto may have changed
		case dockerctl.BuilderBuildKit:
			s.Builder = "BuildKit"
		case dockerctl.BuilderLegacy:
			s.Builder = "legacy builder"
		}
		s.add(e.Time, false, "build done in %.1fs", e.Seconds)
	case dockerctl.EvBuildFailed:
		s.Building = false
		for i := range s.Rows {
			if s.Rows[i].State == RowBuilding {
				s.Rows[i].State = RowStale
			}
		}
		if r := s.rowAtLine(e.Line); r != nil {
			r.State = RowFailed
			if len(e.Log) > 0 {
				r.Log = e.Log
			}
		}
		s.add(e.Time, true, "%s:%d: %s", orDefault(e.File, "Dockerfile"), e.Line, e.Message)
	case dockerctl.EvStale:
		for i := range s.Rows {
			if s.Rows[i].Line >= e.Line {
				s.Rows[i].State, s.Rows[i].StaleBy = RowStale, e.Paths
			}
		}
		step := "the first step"
		if r := s.rowAtLine(e.Line); r != nil {
			step = fmt.Sprintf("step %d", r.Index)
		}
		s.add(e.Time, false, "%s changed → from %s", strings.Join(e.Paths, ", "), step)
	case dockerctl.EvContainer:
		s.Container, s.ContainerState, s.ContainerSince = e.Container, "running", e.Time
		if e.Image != "" {
			s.Image = e.Image
		}
		if e.GPU != nil {
			s.GPU = *e.GPU
		}
		s.Jupyter = string(dockerctl.JupyterStarting)
		how, _, _ := strings.Cut(e.Message, ",")
		s.add(e.Time, false, "container %s (%s)", e.Container, how)
	case dockerctl.EvJupyter:
		s.Jupyter = string(dockerctl.JupyterStarting)
	case dockerctl.EvReady:
		s.Jupyter, s.URL = string(dockerctl.JupyterReady), e.URL
		s.add(e.Time, false, "Jupyter ready")
	case dockerctl.EvUnreachable:
		s.Jupyter = string(dockerctl.JupyterUnreachable)
		s.add(e.Time, true, "Jupyter did not answer")
	case dockerctl.EvContainerEnd:
		code := -1
		if e.Code != nil {
			code = *e.Code
		}
		s.ContainerState = fmt.Sprintf("exited (code %d)", code)
		s.Jupyter = string(dockerctl.JupyterRestarting)
		s.add(e.Time, true, "container exited with code %d", code)
	case dockerctl.EvSync:
		for i := range s.Rows {
			if s.Rows[i].Sync && (e.Line == 0 || s.Rows[i].Line == e.Line) {
				s.Rows[i].Synced += e.Files
				s.Rows[i].LastSync = e.Time
				if e.Line == 0 {
					break
				}
			}
		}
		what := ""
		if len(e.Paths) > 0 {
			what = ": " + shortList(e.Paths, 3)
		}
		s.add(e.Time, false, "synced %d %s (%s) in %.0fms%s", e.Files, plural(e.Files), dockerctl.HumanBytes(e.Bytes), e.Ms, what)
	case dockerctl.EvRescue:
		note := ""
		if e.Conflict {
			note = " (host changed too)"
		}
		s.add(e.Time, e.Conflict, "rescued %s → %s%s", e.From, e.To, note)
	case dockerctl.EvError:
		s.add(e.Time, true, "%s", e.Message)
	case dockerctl.EvDoctor:
		loc := e.File
		if e.Line > 0 {
			loc = fmt.Sprintf("%s:%d", e.File, e.Line)
		}
		s.add(e.Time, e.Severity == "error", "doctor: %s: %s", loc, e.Message)
	case dockerctl.EvInfo:
		s.add(e.Time, false, "%s", e.Message)
	case dockerctl.EvStop:
		s.Stopped = true
		s.ContainerState = "stopped"
		s.add(e.Time, false, "%s", e.Message)
	}
}

// RowState is what the table shows for a row: a synced step with a running
// container is "live" unless a build or a change says otherwise.
func (s *State) RowState(r Row) string {
	if r.Sync && r.Target && s.ContainerState == "running" && (r.State == RowBuilt || r.State == RowCached || r.State == "") {
		return RowLive
	}
	return r.State
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return "file"
	}
	return "files"
}

func shortList(ps []string, n int) string {
	names := make([]string, 0, n)
	for i, p := range ps {
		if i == n {
			return strings.Join(names, ", ") + fmt.Sprintf(" +%d", len(ps)-n)
		}
		names = append(names, path.Clean(p))
	}
	return strings.Join(names, ", ")
}
