package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// LastLogs returns the container's last n log lines (stdout and stderr).
func (e *Engine) LastLogs(ctx context.Context, id string, n int) ([]string, error) {
	var b strings.Builder
	if err := e.Logs(ctx, id, false, strconv.Itoa(n), &b, &b); err != nil {
		return nil, err
	}
	s := strings.TrimRight(b.String(), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// Logs copies the container's logs (the last tail lines, "all" for all)
// to stdout and stderr, following new lines until ctx ends when follow.
func (e *Engine) Logs(ctx context.Context, id string, follow bool, tail string, stdout, stderr io.Writer) error {
	rc, err := e.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Tail: tail})
	if err != nil {
		return fmt.Errorf("reading the container's logs: %w", err)
	}
	defer rc.Close()
	if _, err := stdcopy.StdCopy(stdout, stderr, rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("reading the container's logs: %w", err)
	}
	return nil
}
