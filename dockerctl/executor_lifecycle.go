package dockerctl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// A dev container's lifecycle commands, run as the dev containers CLI runs
// them: onCreateCommand, updateContentCommand and postCreateCommand once in
// each new container, postStartCommand at each start, as the remote user,
// with the container's and the remote environment, in the workspace; each
// one a phase, its output on the phase line, a failure an error with its
// exit status and last lines. The first that fails stops the ones after
// it (as the CLI does); the session goes on.

// lifecycle runs the commands of a container that was created or started.
func (x *executor) lifecycle(ctx context.Context, e loop.RunLifecycle) error {
	l := x.o.Lifecycle
	type stage struct {
		key  string
		cmds []model.LifecycleCommand
	}
	stages := []stage{{"postStartCommand", l.PostStart}}
	if e.Created {
		stages = append([]stage{{"onCreateCommand", l.OnCreate}, {"updateContentCommand", l.UpdateContent}, {"postCreateCommand", l.PostCreate}}, stages...)
	}
	for _, st := range stages {
		for _, c := range st.cmds {
			if err := x.lifecycleCommand(ctx, e.C, st.key, c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *executor) lifecycleCommand(ctx context.Context, c *model.Container, key string, lc model.LifecycleCommand) error {
	l := x.o.Lifecycle
	what := lifecycleName(key, lc)
	cmd := lc.Args
	if lc.Shell != "" {
		cmd = []string{"/bin/sh", "-c", lc.Shell}
	}
	end := failablePhase(x.emit, what)
	var tail tailLines
	code, err := x.eng.ExecStream(ctx, c.ID, model.ExecSpec{Cmd: cmd, Env: l.Env, Workdir: l.Dir, User: l.User}, func(line string) {
		tail.add(line)
		x.emit(event.Event{Kind: event.Phase, State: event.StepRunning, Message: what + " · " + line})
	})
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d", code)
	}
	end(err)
	if err != nil {
		return &lifecycleError{what: what, err: err, log: tail.get()}
	}
	return nil
}

func lifecycleName(key string, lc model.LifecycleCommand) string {
	if lc.Name != "" {
		key += " " + lc.Name
	}
	return key + ": " + lc.String()
}

// lifecycleError is a lifecycle command that failed, with its last lines.
type lifecycleError struct {
	what string
	err  error
	log  []string
}

func (e *lifecycleError) Error() string {
	msg := fmt.Sprintf("%s failed (%v); the session goes on without it: fix it and rebuild (r), or run it in a Jupyter terminal", e.what, e.err)
	if len(e.log) > 0 {
		msg += "; its last lines:\n  " + strings.Join(e.log, "\n  ")
	}
	return msg
}

// initialize runs the dev container's initializeCommand on the host, in
// the project, before anything is built: its output on the phase line, a
// failure said, and the session goes on.
func (s *Session) initialize(ctx context.Context, dir string) {
	for _, lc := range s.o.Lifecycle.Initialize {
		what := lifecycleName("initializeCommand", lc)
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", lc.Shell)
		if lc.Shell == "" {
			cmd = exec.CommandContext(ctx, lc.Args[0], lc.Args[1:]...)
		}
		cmd.Dir = dir
		out, err := cmd.StdoutPipe()
		if err == nil {
			cmd.Stderr = cmd.Stdout
		}
		end := failablePhase(s.emit, what)
		var tail tailLines
		if err == nil {
			err = cmd.Start()
		}
		if err == nil {
			readLines(out, func(line string) {
				tail.add(line)
				s.emit(event.Event{Kind: event.Phase, State: event.StepRunning, Message: what + " · " + line})
			})
			err = cmd.Wait()
		}
		end(err)
		if err != nil {
			s.emit(event.Event{Kind: event.Error, Message: (&lifecycleError{what: what, err: err, log: tail.get()}).Error()})
			return
		}
	}
}

func readLines(r io.Reader, line func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
}
