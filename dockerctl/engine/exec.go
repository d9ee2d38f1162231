package engine

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// execAsRoot: tfdev's own execs (the sync agent, the watcher, the
// listings and hashes, the tar streams home) run as root whatever the
// image's USER, so that they read and write every file with the owner its
// tar entry says, as a build's COPY does. A replayed RUN runs as its
// step's user, and the autoreload file is written as the kernels' user.
const execAsRoot = "0"

// Exec runs cmd in a running container and waits for it.
func (e *Engine) Exec(ctx context.Context, id string, cmd ...string) (model.ExecResult, error) {
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: cmd, User: execAsRoot, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return model.ExecResult{}, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	att, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return model.ExecResult{}, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	defer att.Close()
	var out, errOut bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errOut, att.Reader); err != nil {
		return model.ExecResult{}, fmt.Errorf("exec %s: reading output: %w", cmd[0], err)
	}
	insp, err := e.api.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return model.ExecResult{}, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	return model.ExecResult{ExitCode: insp.ExitCode, Stdout: out.Bytes(), Stderr: errOut.Bytes()}, nil
}

// ExecOK runs cmd and turns a non-zero exit into an error with its stderr.
func (e *Engine) ExecOK(ctx context.Context, id string, cmd ...string) ([]byte, error) {
	r, err := e.Exec(ctx, id, cmd...)
	if err != nil {
		return nil, err
	}
	if r.ExitCode != 0 {
		return r.Stdout, fmt.Errorf("%s in the container exited %d: %s", cmd[0], r.ExitCode, strings.TrimSpace(string(r.Stderr)))
	}
	return r.Stdout, nil
}
