// Package tui is tfdev's terminal UI: a bubbletea model that renders the
// session's event stream (the same events the plain and JSON outputs print)
// as a header, the Jupyter and container lines, a table of the Dockerfile's
// steps with their states, and the latest activity. It performs no I/O
// itself: keys become requests through the Env it is given, run as tea.Cmds.
//
//	m := tui.New(tui.Env{Request: session.Requests() <- ..., Quit: cancel, Home: home}, nil)
//	p := tea.NewProgram(m, tea.WithAltScreen())
//	session emits -> p.Send(tui.EventMsg(e))
package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
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
	event.StepRow
	State    string
	Since    time.Time     // when it started building
	Duration time.Duration // how long it took
	StaleBy  []string      // the changed files that invalidate it
	Synced   int           // files synced through it
	LastSync time.Time
	Log      []string // its last output lines
	// Pull follows a FROM step's base image coming down (build.pull).
	Pull *event.PullMeter
}

// Conflict is a file changed on both sides: the host's copy in place
// (File), the container's (From) kept at Copy.
type Conflict struct{ File, From, Copy string }

// ReloadFailure is a module a kernel could not reload: shown until a
// later save reloads it in that kernel.
type ReloadFailure struct{ Kernel, Module, Why, Fix string }

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

	Jupyter string // starting, ready, unreachable, restarting, down; "" before a container
	// JupyterSince is when Jupyter began starting (or restarting).
	JupyterSince time.Time
	URL          string
	DownSince    time.Time // when Jupyter stopped answering
	// Phase is what tfdev does now (creating, exporting, stopping ...), and
	// since when; "" when it waits for nothing.
	Phase      string
	PhaseSince time.Time
	// EngineLost is when the Engine stopped answering; zero while it answers.
	EngineLost time.Time

	Container      string
	ContainerState string // running, exited (code N), stopped
	ContainerSince time.Time
	Image          string
	BuiltAt        time.Time
	// Live says the container runs its image plus live installs, and
	// which image that matches; "" when it runs its image as built.
	Live string
	// Conflicts are the files changed on both sides whose copies are not
	// merged yet: shown until a save on either side resolves them.
	Conflicts []Conflict
	// ReloadFailures are the modules kernels could not reload, until a
	// later save reloads them (or the container is replaced).
	ReloadFailures []ReloadFailure

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

// Apply folds one event into the state. Every event the activity list
// shows is worded by the event package, as the plain output words it.
func (s *State) Apply(e event.Event) {
	if phaseEnders[e.Kind] {
		s.Phase = "" // a quick phase ends without a word of its own
	}
	if f, ok := appliers[e.Kind]; ok {
		f(s, e)
	}
	streamed := e.Kind == event.ReplayStep && e.State == event.StepRunning && len(e.Log) > 0 // output, shown in the build log view
	if activityKinds[e.Kind] && !streamed {
		s.add(e.Time, e.IsError(), "%s", e.Text())
	}
}

// phaseEnders end the phase under way.
var phaseEnders = map[event.Kind]bool{
	event.BuildStart: true, event.BuildDone: true, event.BuildFailed: true, event.Container: true,
	event.Ready: true, event.Unreachable: true, event.Stop: true, event.Error: true,
}

// activityKinds are the events the activity list shows.
var activityKinds = map[event.Kind]bool{
	event.BuildStart: true, event.BuildDone: true, event.BuildFailed: true, event.Stale: true,
	event.Container: true, event.ContainerEnd: true, event.Ready: true, event.Unreachable: true,
	event.Sync: true, event.Rescue: true, event.Error: true, event.Doctor: true, event.Info: true,
	event.Stop: true, event.EngineLost: true, event.EngineBack: true, event.RescueProgress: true, event.Down: true,
	event.ReplayStep: true, event.ReplayDone: true, event.Live: true, event.Resolved: true,
	event.KernelCarried: true, event.KernelRestarted: true, event.KernelReload: true, event.ReloadFailed: true,
	event.KernelImports: true,
}

// appliers change the view state for each kind of event that has any.
var appliers = map[event.Kind]func(*State, event.Event){
	event.Rescue: func(s *State, e event.Event) {
		if !e.Conflict || e.File == "" {
			return
		}
		s.Conflicts = slices.DeleteFunc(s.Conflicts, func(c Conflict) bool { return c.File == e.File })
		s.Conflicts = append(s.Conflicts, Conflict{File: e.File, From: e.From, Copy: e.To})
	},
	event.Resolved: func(s *State, e event.Event) {
		s.Conflicts = slices.DeleteFunc(s.Conflicts, func(c Conflict) bool { return c.File == e.File })
	},
	event.ReloadFailed: func(s *State, e event.Event) {
		s.ReloadFailures = slices.DeleteFunc(s.ReloadFailures, func(f ReloadFailure) bool { return f.Kernel == e.Kernel && f.Module == e.Module })
		s.ReloadFailures = append(s.ReloadFailures, ReloadFailure{Kernel: e.Kernel, Module: e.Module, Why: e.Message, Fix: e.Fix})
	},
	event.KernelReload: func(s *State, e event.Event) {
		s.ReloadFailures = slices.DeleteFunc(s.ReloadFailures, func(f ReloadFailure) bool {
			return f.Kernel == e.Kernel && slices.Contains(e.Modules, f.Module)
		})
	},
	event.Project: func(s *State, e event.Event) {
		s.Project, s.Engine, s.Builder = e.Project, e.Engine, e.Builder
		s.GPU = e.GPU != nil && *e.GPU
		s.CPUReason = e.Reason
	},
	event.Plan:       (*State).applyPlan,
	event.BuildStart: func(s *State, e event.Event) { s.Building, s.BuildStarted = true, e.Time },
	event.BuildStep:  (*State).applyStep,
	event.BuildPull: func(s *State, e event.Event) {
		if r := s.row(e.Index); r != nil {
			if r.Pull == nil {
				r.Pull = &event.PullMeter{}
			}
			r.Pull.Add(e)
		}
	},
	event.BuildDone: func(s *State, e event.Event) {
		s.Building = false
		s.BuiltAt, s.Image = e.Time, e.Image
		switch e.Builder { // the builder that ran, which auto may have changed
		case "buildkit":
			s.Builder = "BuildKit"
		case "legacy":
			s.Builder = "legacy builder"
		}
	},
	event.BuildFailed: (*State).applyFailed,
	event.Stale: func(s *State, e event.Event) {
		for i := range s.Rows {
			if s.Rows[i].Line >= e.Line {
				s.Rows[i].State, s.Rows[i].StaleBy = RowStale, e.Paths
			}
		}
	},
	event.Live: func(s *State, e event.Event) { s.Live = e.Message },
	event.ReplayStep: func(s *State, e event.Event) {
		what := "live install: " + e.Instruction
		switch {
		case e.State == event.StepRunning && len(e.Log) > 0: // its output as it comes, on the phase line
			if !strings.HasPrefix(s.Phase, what) {
				s.PhaseSince = e.Time
			}
			s.Phase = what + " · " + e.Log[len(e.Log)-1]
		case e.State == event.StepRunning:
			s.Phase, s.PhaseSince = what, e.Time
		case strings.HasPrefix(s.Phase, what):
			s.Phase = ""
		}
		if r := s.row(e.Index); r != nil && len(e.Log) > 0 {
			if e.State == event.StepRunning { // the build log view shows the output too
				r.Log = append(r.Log, e.Log...)
			} else {
				r.Log = e.Log
			}
		}
	},
	event.Container: func(s *State, e event.Event) {
		s.Container, s.ContainerState, s.ContainerSince, s.Live = e.Container, "running", e.Time, ""
		if e.Image != "" {
			s.Image = e.Image
		}
		if e.GPU != nil {
			s.GPU = *e.GPU
		}
		s.Jupyter, s.JupyterSince = string(event.JupyterStarting), e.Time
		if strings.HasPrefix(e.Message, "replaced ") {
			s.ReloadFailures = nil // the new container's kernels imported today's code
		}
	},
	event.Jupyter: func(s *State, e event.Event) {
		if s.Jupyter != string(event.JupyterStarting) {
			s.JupyterSince = e.Time
		}
		s.Jupyter = string(event.JupyterStarting)
	},
	event.Ready:       func(s *State, e event.Event) { s.Jupyter, s.URL = string(event.JupyterReady), e.URL },
	event.Unreachable: func(s *State, _ event.Event) { s.Jupyter = string(event.JupyterUnreachable) },
	event.Down:        func(s *State, e event.Event) { s.Jupyter, s.DownSince = string(event.JupyterDown), e.Time },
	event.Phase: func(s *State, e event.Event) {
		switch {
		case e.State == event.StepRunning:
			s.Phase, s.PhaseSince = e.Message, e.Time
		case s.Phase == e.Message || strings.HasPrefix(s.Phase, e.Message+" · "): // done or failed: it ended (its output was on the line)
			s.Phase = ""
		}
	},
	event.EngineLost: func(s *State, e event.Event) { s.EngineLost = e.Time },
	event.EngineBack: func(s *State, _ event.Event) { s.EngineLost = time.Time{} },
	event.ContainerEnd: func(s *State, e event.Event) {
		code := -1
		if e.Code != nil {
			code = *e.Code
		}
		s.ContainerState = fmt.Sprintf("exited (code %d)", code)
		s.Jupyter, s.JupyterSince = string(event.JupyterRestarting), e.Time
	},
	event.Sync: (*State).applySync,
	event.Stop: func(s *State, _ event.Event) { s.Stopped, s.ContainerState = true, "stopped" },
}

func (s *State) applyPlan(e event.Event) {
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
}

func (s *State) applyStep(e event.Event) {
	r := s.row(e.Index)
	if r == nil {
		return
	}
	r.Log = e.Log
	switch e.State {
	case event.StepRunning:
		r.State, r.Since, r.Pull = RowBuilding, e.Time, nil
	case event.StepDone:
		r.State, r.Duration, r.StaleBy = RowBuilt, e.Duration, nil
	case event.StepCached:
		r.State, r.StaleBy = RowCached, nil
	case event.StepFailed:
		r.State = RowFailed
	}
}

func (s *State) applyFailed(e event.Event) {
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
}

func (s *State) applySync(e event.Event) {
	for i := range s.Rows {
		if s.Rows[i].Sync && (e.Line == 0 || s.Rows[i].Line == e.Line) {
			s.Rows[i].Synced += e.Files
			s.Rows[i].LastSync = e.Time
			if e.Line == 0 {
				break
			}
		}
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
