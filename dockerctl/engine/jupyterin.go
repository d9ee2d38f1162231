package engine

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// ImageCommand is what a container of the image runs when told nothing
// else: its ENTRYPOINT, then its CMD (nil when the image is not here).
func (e *Engine) ImageCommand(ctx context.Context, ref string) []string {
	insp, err := e.api.ImageInspect(ctx, ref)
	if err != nil || insp.Config == nil {
		return nil
	}
	return append(slices.Clone(insp.Config.Entrypoint), insp.Config.Cmd...)
}

// jupyterProbe prints which Jupyter server the image has: lab, notebook,
// or nothing.
const jupyterProbe = `if command -v jupyter-lab >/dev/null 2>&1; then echo lab; elif command -v jupyter-notebook >/dev/null 2>&1; then echo "notebook $(jupyter-notebook --version 2>/dev/null)"; fi`

// JupyterIn says which Jupyter server the image can start, "lab" (when
// JupyterLab is installed) or "notebook VERSION", "" when neither: asked
// of a throwaway container of the image, as its own user, before tfdev
// runs one.
func (e *Engine) JupyterIn(ctx context.Context, ref string) (string, error) {
	created, err := e.api.ContainerCreate(ctx, &container.Config{Image: ref, Entrypoint: []string{"sh", "-c", jupyterProbe}, Cmd: []string{}},
		&container.HostConfig{}, nil, nil, "")
	if err != nil {
		return "", fmt.Errorf("looking for Jupyter in the image: %w", err)
	}
	defer e.api.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
	waitC, errC := e.api.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := e.api.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return "", fmt.Errorf("looking for Jupyter in the image (it needs sh): %w", err)
	}
	select {
	case <-waitC:
	case err := <-errC:
		return "", fmt.Errorf("looking for Jupyter in the image: %w", err)
	case <-ctx.Done():
		return "", ctx.Err()
	}
	logs, err := e.api.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true})
	if err != nil {
		return "", fmt.Errorf("looking for Jupyter in the image: %w", err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &bytes.Buffer{}, logs); err != nil {
		return "", fmt.Errorf("looking for Jupyter in the image: %w", err)
	}
	return strings.TrimSpace(out.String()), nil
}
