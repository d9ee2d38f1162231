package dockerfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/tfdev-dev/tfdev/watcher"
)

// A replay installs a dependency change in the running container instead
// of replacing it, so that its kernels live on: the changed files go where
// the Dockerfile's COPY/ADD steps put them, and the RUN steps that follow
// run again in the container, each with the working directory, variables,
// user and shell it had in the build. The real build still runs, and the
// image catches up behind.

// Replay is the plan: the steps to carry out in the container, in order.
type Replay struct {
	Steps []ReplayStep
	// Base is the target stage's base image, whose user a step runs as
	// before any USER ("" when the stage builds on another stage).
	Base string
	// From is the first step replayed: the one that reads a changed file.
	From int
}

// ReplayStep is one step carried out in the container.
type ReplayStep struct {
	Line  int
	Index int    // position among AllSteps, from 1, as the plan event numbers rows
	Kind  string // COPY, ADD or RUN
	Text  string
	// Copies (COPY, ADD): changed context files and where they go.
	Copies []ReplayCopy
	// RUN: the command as argv, with what it runs in.
	Args    []string
	Env     []string // "K=V": the stage's ARG and ENV values at this step
	Workdir string
	User    string // "" : the base image's user
	// Binds are RUN --mount=type=bind sources: copied to their targets for
	// the run, removed after it.
	Binds []ReplayCopy
}

// ReplayCopy is a context path and the container path it goes to.
type ReplayCopy struct{ Source, Dest string }

// NotReplayable says why a change must be rebuilt and replaced instead.
type NotReplayable struct {
	Path string // the changed path
	Line int    // the Dockerfile line that decides, 0 when none
	Why  string
}

func (e *NotReplayable) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.Path, e.Line, e.Why)
	}
	return e.Path + ": " + e.Why
}

// Replay plans how the changed context paths (each one a rebuild input)
// are installed in a container of the target stage, or says why they
// cannot be: a change to the Dockerfile or an ignore file, to a file that
// feeds another stage or that ADD extracts, or a step between the first
// changed one and the stage's end that cannot run outside a build (a
// secret or ssh mount, a bind mount from another stage, a heredoc).
func (m *Model) Replay(changed []string, rules watcher.Rules) (*Replay, error) {
	target := &m.Stages[m.Target]
	copies := map[int][]ReplayCopy{} // by step line
	from := 0
	for _, p := range changed {
		if slices.Contains(rules.Always, p) {
			return nil, &NotReplayable{Path: p, Why: p + " changed: every step may differ"}
		}
		for i := range rules.Steps {
			r := &rules.Steps[i]
			dest, ok := r.Target(p)
			if !ok {
				continue
			}
			st, si := m.stepAt(r.Line)
			switch {
			case si != m.Target:
				return nil, &NotReplayable{Path: p, Line: r.Line, Why: fmt.Sprintf("it feeds build stage %s", m.stageLabel(si))}
			case st.Kind == "ADD" && isArchive(r.Source):
				return nil, &NotReplayable{Path: p, Line: r.Line, Why: "ADD extracts this archive"}
			case st.Kind == "RUN":
				// A bind mount's source: the RUN reads it, and is replayed.
			default:
				copies[r.Line] = append(copies[r.Line], ReplayCopy{Source: p, Dest: dest})
			}
			if from == 0 || r.Line < from {
				from = r.Line
			}
		}
	}
	if from == 0 {
		return nil, &NotReplayable{Path: strings.Join(changed, ", "), Why: "no step of the target stage reads it"}
	}
	rp := &Replay{From: from}
	if target.BaseStage < 0 {
		rp.Base = target.Base
	}
	st := m.stateAtStart(m.Target)
	index := len(m.MetaArgs)
	for si := 0; si < m.Target; si++ {
		index += len(m.Stages[si].Steps)
	}
	for i, step := range target.Steps {
		if step.Line >= from {
			rs, err := m.replayStep(step, &st, copies[step.Line])
			if err != nil {
				return nil, err
			}
			if rs != nil {
				rs.Index = index + i + 1
				rp.Steps = append(rp.Steps, *rs)
			}
		}
		m.apply(&st, step)
	}
	return rp, nil
}

// replayStep is what one step at or after the first changed one does in
// the container: nil when nothing (metadata, or a copy of unchanged files,
// which the container has already).
func (m *Model) replayStep(step Step, st *buildState, copies []ReplayCopy) (*ReplayStep, error) {
	rs := &ReplayStep{Line: step.Line, Kind: step.Kind, Text: step.Text}
	switch c := step.cmd.(type) {
	case *instructions.CopyCommand, *instructions.AddCommand:
		if len(copies) == 0 {
			return nil, nil
		}
		rs.Copies = copies
		return rs, nil
	case *instructions.RunCommand:
		if len(c.Files) > 0 {
			return nil, m.notReplayable(step, "a RUN with a here-document")
		}
		for _, mnt := range instructions.GetMounts(c) {
			switch {
			case mnt.Type == instructions.MountTypeCache:
				// Run without it: the cache only speeds up the build.
			case mnt.Type == instructions.MountTypeBind && mnt.From == "":
				rs.Binds = append(rs.Binds, ReplayCopy{Source: cleanSource(mnt.Source), Dest: resolve(st.workdir, mnt.Target)})
			default:
				return nil, m.notReplayable(step, fmt.Sprintf("RUN --mount=type=%s cannot run outside a build", mountLabel(mnt)))
			}
		}
		rs.Args = append([]string(nil), c.CmdLine...)
		if c.PrependShell {
			rs.Args = append(append([]string(nil), st.shell...), strings.Join(c.CmdLine, " "))
		}
		rs.Env = append([]string(nil), st.env...)
		rs.Workdir, rs.User = st.workdir, st.user
		return rs, nil
	}
	return nil, nil
}

func (m *Model) notReplayable(step Step, why string) error {
	return &NotReplayable{Path: m.Name, Line: step.Line, Why: why}
}

func mountLabel(mnt *instructions.Mount) string {
	if mnt.Type == instructions.MountTypeBind {
		return "bind,from=" + mnt.From
	}
	return string(mnt.Type)
}

// stepAt finds the step at a Dockerfile line and its stage.
func (m *Model) stepAt(line int) (Step, int) {
	for si, s := range m.Stages {
		for _, st := range s.Steps {
			if st.Line == line {
				return st, si
			}
		}
	}
	return Step{}, -1
}

// buildState is what a RUN runs in at one point of a stage.
type buildState struct {
	env     []string
	workdir string
	user    string
	shell   []string
}

// stateAtStart is the state at the FROM of stage i: an earlier stage's
// state at its end, or an image's working directory and default shell.
func (m *Model) stateAtStart(i int) buildState {
	s := &m.Stages[i]
	if s.BaseStage >= 0 {
		st := m.stateAtStart(s.BaseStage)
		for _, step := range m.Stages[s.BaseStage].Steps {
			m.apply(&st, step)
		}
		return st
	}
	return buildState{workdir: m.stageStartWorkdir(i), shell: []string{"/bin/sh", "-c"}}
}

// apply moves the state past one step: its variables and working
// directory as the model tracks them, its user and shell.
func (m *Model) apply(st *buildState, step Step) {
	if step.cmd == nil {
		return
	}
	st.env, st.workdir = m.track(st.env, st.workdir, step.cmd)
	switch c := step.cmd.(type) {
	case *instructions.UserCommand:
		st.user = c.User
	case *instructions.ShellCommand:
		st.shell = append([]string(nil), c.Shell...)
	}
}
