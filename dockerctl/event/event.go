// Package event is the one record tfdev's session emits and the one place
// that words it. The terminal UI, the plain lines and the JSON lines are
// all made from these values, so they never disagree:
//
//	e := event.Event{Kind: event.BuildDone, Image: id, Duration: 3 * time.Second}
//	fmt.Println(e.Plain()) // tfdev: build done in 3.0s (0123456789ab, buildkit)
//
// It imports nothing of Docker: the TUI depends on it alone.
package event

import "time"

// Kind names what happened. The names are the JSON output's "event" field,
// a stable interface for editors and scripts.
type Kind string

const (
	Project        Kind = "project"      // Project, Engine, Builder, GPU (Reason: why CPU)
	Plan           Kind = "plan"         // Steps: the Dockerfile's steps, at start and after a reload
	Doctor         Kind = "doctor"       // a finding of tfdev doctor: Severity, File, Line, Message, Fix
	Watch          Kind = "watch.ready"  // the tree is watched
	BuildStart     Kind = "build.start"  // Reason
	BuildStep      Kind = "build.step"   // Index, Total, Instruction, State, Duration
	BuildPull      Kind = "build.pull"   // a layer of a base image downloading: Index (the FROM step; 0 for tfdev pull), Image, Layer, Current, Total (bytes), Done
	BuildDone      Kind = "build.done"   // Image, Duration, Builder, Context (tar or session) and the Files and Bytes it sent
	BuildFailed    Kind = "build.failed" // File, Line, Message, Log
	Stale          Kind = "stale"        // a rebuild will start at Line because of Paths
	Container      Kind = "container.start"
	ContainerEnd   Kind = "container.exit" // Code, Log
	Jupyter        Kind = "jupyter.starting"
	Ready          Kind = "jupyter.ready" // URL
	Unreachable    Kind = "jupyter.unreachable"
	Down           Kind = "jupyter.down"      // it answered, and stopped answering: Message says how
	Sync           Kind = "sync"              // Files, Removed, Bytes, Duration, Paths
	Rescue         Kind = "rescue"            // From, To, Conflict
	Resolved       Kind = "conflict.resolved" // File: a conflict ended, Reason says by which side's save
	RescueProgress Kind = "rescue.progress"   // From, Bytes of Size: a large file coming home
	EngineLost     Kind = "engine.lost"
	EngineBack     Kind = "engine.back"
	Phase          Kind = "phase"          // Message: what tfdev does now; State running, then done with Duration
	ReplayStep     Kind = "replay.step"    // a dependency step run again in the container: Index, Line, File, Instruction, State, Duration, Log
	ReplayDone     Kind = "replay.done"    // the live install ended: Message sums it up, Paths changed, Restart the packages whose version changed
	Live           Kind = "container.live" // Container runs its image plus a live install that matches Image
	// A replacement carried a kernel into the new container: Kernel (the ID
	// pages know), Names carried, Bytes, Duration, Pickler, Left (not
	// carried: name to why).
	KernelCarried Kind = "kernel.carried"
	// A replacement could not carry a kernel's variables: Kernel, Reason;
	// Message says whether an empty kernel took its place under its ID.
	KernelRestarted Kind = "kernel.restarted"
	// KernelReload: a kernel reloaded the modules a sync changed: Kernel,
	// Modules.
	KernelReload Kind = "kernel.reload"
	// ReloadFailed: a kernel could not reload Module: Kernel, Module,
	// Message (why), Fix (what to do). Module "" when the kernel could not
	// be asked at all.
	ReloadFailed Kind = "kernel.reload_failed"
	// KernelImports: after a live install, the modules a kernel imported
	// from the packages whose version changed: Kernel, Modules, Restart
	// (set when it must restart), Message.
	KernelImports Kind = "kernel.imports"
	Info          Kind = "info"  // Message
	Error         Kind = "error" // Message
	Stop          Kind = "stop"  // Message
)

// StepState is where a Dockerfile step is in a build.
type StepState string

const (
	StepCached  StepState = "cached"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// JupyterState is the state of the Jupyter server in the container.
type JupyterState string

const (
	JupyterStarting    JupyterState = "starting"
	JupyterReady       JupyterState = "ready"
	JupyterUnreachable JupyterState = "unreachable"
	JupyterRestarting  JupyterState = "restarting"
	JupyterDown        JupyterState = "down"
)

// Request is something the user asks of a running session (a TUI key).
type Request int

const (
	RequestRebuild Request = iota // build now
	RequestResync                 // full reconcile
	RequestReplace                // replace the container by one of the current image (after a live install)
)

// Event is one thing that happened in a session. Which fields are set
// depends on Kind (see the Kind constants). Time is always set: the
// session and the printers stamp events that come without one.
type Event struct {
	Time        time.Time         `json:"time"`
	Kind        Kind              `json:"event"`
	Reason      string            `json:"reason,omitempty"`
	Index       int               `json:"index,omitempty"`
	Total       int               `json:"total,omitempty"`
	Line        int               `json:"line,omitempty"`
	File        string            `json:"file,omitempty"`
	Instruction string            `json:"instruction,omitempty"`
	State       StepState         `json:"state,omitempty"`
	Duration    time.Duration     `json:"-"` // JSON: "seconds", and "ms" for sync
	Image       string            `json:"image,omitempty"`
	Container   string            `json:"container,omitempty"`
	Code        *int              `json:"code,omitempty"`
	URL         string            `json:"url,omitempty"`
	Files       int               `json:"files,omitempty"`
	Removed     int               `json:"removed,omitempty"`
	Bytes       int64             `json:"bytes,omitempty"`
	Layer       string            `json:"layer,omitempty"`   // build.pull
	Current     int64             `json:"current,omitempty"` // build.pull: bytes of Layer downloaded, of Total
	Done        bool              `json:"done,omitempty"`    // build.pull: the layer is down
	Size        int64             `json:"size,omitempty"`
	From        string            `json:"from,omitempty"`
	To          string            `json:"to,omitempty"`
	Conflict    bool              `json:"conflict,omitempty"`
	Message     string            `json:"message,omitempty"`
	Builder     string            `json:"builder,omitempty"`
	Context     string            `json:"context,omitempty"` // build.done: how the context went, tar or session
	GPU         *bool             `json:"gpu,omitempty"`
	Project     string            `json:"project,omitempty"`
	Engine      string            `json:"engine,omitempty"`
	EngineName  string            `json:"engine_name,omitempty"` // project: "Podman 4.3.1 (rootful)", "Docker Engine 28.5.1"
	Paths       []string          `json:"paths,omitempty"`
	Kernel      string            `json:"kernel,omitempty"`      // kernel.carried, kernel.restarted
	Names       []string          `json:"names,omitempty"`       // kernel.carried: the variables carried
	Left        map[string]string `json:"not_carried,omitempty"` // kernel.carried: the variables left, each with why
	Pickler     string            `json:"pickler,omitempty"`     // kernel.carried: "pickle", "dill+pickle" ...
	Module      string            `json:"module,omitempty"`      // kernel.reload_failed
	Modules     []string          `json:"modules,omitempty"`     // sync: the modules running kernels reload at their next cell
	Restart     []string          `json:"restart,omitempty"`     // sync: changes autoreload cannot apply; replay.done: packages whose version changed (restart the kernels that imported them)
	Log         []string          `json:"log,omitempty"`
	Steps       []StepRow         `json:"steps,omitempty"`
	Severity    string            `json:"severity,omitempty"`
	Fix         string            `json:"fix,omitempty"`
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

// Stamped returns emit with every event that has no Time given now().
func Stamped(emit func(Event), now func() time.Time) func(Event) {
	return func(e Event) {
		if e.Time.IsZero() {
			e.Time = now()
		}
		emit(e)
	}
}
