package engine

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// The container side of two-way sync: one long-lived exec that reports the
// files written under the rescue roots, with their hashes. With python3 in
// the image (every Jupyter image) it is inotify through ctypes, free while
// idle; without, a find poll whose interval grows with the tree.
var (
	//go:embed scripts/watch.py
	watchPy string
	//go:embed scripts/watch.sh
	watchSh string
)

// ContainerWatch reports what is written in a container: each batch maps
// container paths to the SHA-256 of their content.
type ContainerWatch struct {
	conn    types.HijackedResponse
	changes chan map[string]string
	flushed chan map[string]string
	done    chan struct{}
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex // one flush at a time
	err     error      // why the watch ended, once done is closed
}

// WatchContainer starts the watcher in a running container over roots and
// returns once its watches are in place.
func (e *Engine) WatchContainer(ctx context.Context, id string, roots []string) (*ContainerWatch, error) {
	cmd, env := e.watchCommand(ctx, id, roots)
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:         cmd,
		Env:         env,
		User:        execAsRoot,
		AttachStdin: true, AttachStdout: true,
	})
	if err != nil {
		return nil, fmt.Errorf("watching the container: %w", err)
	}
	conn, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("watching the container: %w", err)
	}
	w := &ContainerWatch{conn: conn, changes: make(chan map[string]string, 16), flushed: make(chan map[string]string, 1), done: make(chan struct{}), closed: make(chan struct{})}
	out := bufio.NewReader(conn.Reader)
	var lines FrameLines
	first, err := lines.Next(out)
	if err != nil || first != "ready" {
		conn.Close()
		return nil, fmt.Errorf("watching the container: it did not start (%q, %v)", first, err)
	}
	go w.read(out, &lines)
	return w, nil
}

func (w *ContainerWatch) read(out *bufio.Reader, lines *FrameLines) {
	defer close(w.done)
	batch := map[string]string{}
	for {
		line, err := lines.Next(out)
		if err != nil {
			w.err = err
			return
		}
		switch {
		case strings.HasPrefix(line, "c "):
			for p, sum := range parseSHA256Sum([]byte(line[2:])) {
				batch[p] = sum
			}
		case line == "e":
			if len(batch) > 0 {
				select {
				case w.changes <- batch:
				case <-w.closed:
					return
				}
			}
			batch = map[string]string{}
		case line == "f":
			select {
			case w.flushed <- batch:
			case <-w.closed:
				return
			}
			batch = map[string]string{}
		}
	}
}

// Changes delivers batches of written files until Done is closed.
func (w *ContainerWatch) Changes() <-chan map[string]string { return w.changes }

// Done is closed when the watch ended (the container stopped, Close).
func (w *ContainerWatch) Done() <-chan struct{} { return w.done }

// errWatchEnded: the watch is over; use a one-shot discovery instead.
var errWatchEnded = errors.New("the container watch ended")

// Flush returns, at once, what was written since the last batch.
func (w *ContainerWatch) Flush(ctx context.Context) (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.conn.Conn.Write([]byte("flush\n")); err != nil {
		return nil, errWatchEnded
	}
	select {
	case b := <-w.flushed:
		return b, nil
	case <-w.done:
		return nil, errWatchEnded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the watch.
func (w *ContainerWatch) Close() {
	w.once.Do(func() {
		close(w.closed)
		w.conn.Close()
	})
}
