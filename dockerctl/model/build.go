package model

import (
	"fmt"
	"path"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Builder selects the Engine's image builder.
type Builder string

const (
	BuilderAuto     Builder = "auto"     // BuildKit, or legacy when the Engine refuses BuildKit
	BuilderBuildKit Builder = "buildkit" // build.BuilderBuildKit ("2")
	BuilderLegacy   Builder = "legacy"   // build.BuilderV1 ("1")
	BuilderBuildah  Builder = "buildah"  // Podman's: whatever was asked, the context as a tar
)

// StepState is where a Dockerfile step is in a build: the event package's.
type StepState = event.StepState

const (
	StepCached  = event.StepCached
	StepRunning = event.StepRunning
	StepDone    = event.StepDone
	StepFailed  = event.StepFailed
)

// StepProgress is one step's progress, the same for both builders.
type StepProgress struct {
	Index       int    // 1-based position among the Dockerfile's instructions (global ARGs count, as in the legacy "Step N/M")
	Total       int    // number of instructions
	Line        int    // Dockerfile line
	Instruction string // the instruction on one line
	State       StepState
	Duration    time.Duration
	Log         []string  // the step's last output lines
	At          time.Time // when the state was seen
}

func (p StepProgress) String() string {
	return fmt.Sprintf("step %d/%d %s ... %s", p.Index, p.Total, p.Instruction, p.State)
}

// Event is the build.step event of the progress, for the Dockerfile named
// file: the one mapping `tfdev up`, `tfdev build` and the TUI share.
func (p StepProgress) Event(file string) event.Event {
	return event.Event{Time: p.At, Kind: event.BuildStep, Index: p.Index, Total: p.Total, Line: p.Line, File: file,
		Instruction: p.Instruction, State: p.State, Duration: p.Duration, Log: p.Log}
}

// BuildResult is a finished build.
type BuildResult struct {
	ImageID  string
	Builder  Builder // the builder that ran
	Steps    []StepProgress
	Duration time.Duration
	Context  []string // the context paths (files and links) the image was built from
	// ContextVia is how the context reached the Engine: ContextViaTar or
	// ContextViaSession.
	ContextVia string
	// ContextSent lists the files whose content was sent (all of Context
	// with a tar; with a session, what BuildKit asked for), ContextBytes
	// how many bytes went (the whole tar; the files' content).
	ContextSent  []string
	ContextBytes int64

	// ContextSums holds the SHA-256 of every regular file of Context.
	ContextSums map[string]string
}

// DoneEvent is the build.done event of the build.
func (r *BuildResult) DoneEvent() event.Event {
	return event.Event{Kind: event.BuildDone, Image: r.ImageID, Duration: r.Duration, Builder: string(r.Builder),
		Context: r.ContextVia, Files: len(r.ContextSent), Bytes: r.ContextBytes}
}

// SeedLedger records in the ledger what the image holds at each synced
// path, as built from the context: a later rescue then knows whether a
// file in the container was changed there.
func (r *BuildResult) SeedLedger(l *Ledger, rules watcher.Rules) {
	for rel, sum := range r.ContextSums {
		if dest, ok := watcher.SyncDest(rel, rules); ok {
			l.Set(path.Clean(dest), sum)
		}
	}
}

// BuildError is a build that failed at a Dockerfile step.
type BuildError struct {
	File        string
	Line        int // 0 when the failing step is unknown
	Instruction string
	ExitCode    int // -1 when the failure was not a command's exit
	Msg         string
	Log         []string // the failing step's last output lines
}

func (e *BuildError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Detail())
	}
	return fmt.Sprintf("%s: %s", e.File, e.Detail())
}

// Detail is the error without its location: "RUN ...: exit code 1".
func (e *BuildError) Detail() string {
	what := e.Msg
	if e.ExitCode >= 0 {
		what = fmt.Sprintf("exit code %d", e.ExitCode)
	}
	if e.Line > 0 {
		return e.Instruction + ": " + what
	}
	return what
}

// logLines is how many output lines a step keeps.
const LogLines = 10

// BuildOptions say what to build and how.
type BuildOptions struct {
	Project   *dockerfile.Project
	Tags      []string
	BuildArgs map[string]string
	Target    string
	CacheFrom []string
	Labels    map[string]string
	Builder   Builder
	// Context chooses how the context is sent to BuildKit: "" (a session
	// when the Engine takes one, else a tar), ContextViaSession or
	// ContextViaTar. The legacy builder always takes a tar.
	Context string
	NoCache bool // build every step again (for comparisons)
	// Progress, when set, is called from the building goroutine on every
	// change of a step's state.
	Progress func(StepProgress)
	// Exporting, when set, hears when BuildKit starts (true) and ends
	// (false) writing the image: on some storage drivers the longest wait
	// of a build, after its last step.
	Exporting func(started bool)
	// Pull, when set, hears a base image's layers coming down; Say, what
	// the build does before it starts (pulling --cache-from images).
	Pull func(PullProgress)
	Say  func(string)
	// Sent, when set, hears once the Engine has read the whole context,
	// and how many bytes it was.
	Sent func(bytes int64)
}
