package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// ExecStream runs a command in the container, passing each line of its
// output (stdout and stderr, in order) to line, and returns its exit code.
func (e *Engine) ExecStream(ctx context.Context, id string, spec model.ExecSpec, line func(string)) (int, error) {
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: spec.Cmd, Env: spec.Env, WorkingDir: spec.Workdir, User: spec.User, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", spec.Cmd[0], err)
	}
	att, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", spec.Cmd[0], err)
	}
	defer att.Close()
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, pw, att.Reader)
		pw.CloseWithError(err)
	}()
	sc := bufio.NewScanner(pr)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	if err := sc.Err(); err != nil {
		return -1, fmt.Errorf("exec %s: reading output: %w", spec.Cmd[0], err)
	}
	insp, err := e.api.ContainerExecInspect(ctx, created.ID)
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", spec.Cmd[0], err)
	}
	return insp.ExitCode, nil
}

// ImageUser is the user an image's config runs as ("" is root).
func (e *Engine) ImageUser(ctx context.Context, ref string) string {
	insp, err := e.api.ImageInspect(ctx, ref)
	if err != nil || insp.Config == nil {
		return ""
	}
	return insp.Config.User
}
