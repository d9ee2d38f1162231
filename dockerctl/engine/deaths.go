package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Deaths streams the "die" events of the project's containers from since
// (zero: from now) until ctx ends or the stream fails; the error channel
// then carries why.
func (e *Engine) Deaths(ctx context.Context, dir string, since time.Time) (<-chan model.Death, <-chan error) {
	opts := events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "die"),
		filters.Arg("label", model.LabelProject+"="+model.ProjectID(dir)),
	)}
	if !since.IsZero() {
		opts.Since = strconv.FormatInt(since.Unix(), 10)
	}
	msgs, errs := e.api.Events(ctx, opts)
	out := make(chan model.Death, 4)
	fail := make(chan error, 1)
	go func() {
		for {
			select {
			case m := <-msgs:
				code, err := strconv.Atoi(m.Actor.Attributes["exitCode"])
				if err != nil {
					code = -1 // an Engine that does not say
				}
				select {
				case out <- model.Death{ID: m.Actor.ID, Code: code, At: time.Unix(0, m.TimeNano)}:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil {
					fail <- fmt.Errorf("the Engine's event stream: %w", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, fail
}

// Ping asks the Engine whether it answers, on a connection of its own: a
// pooled keep-alive connection can answer while new ones fail (a proxy that
// cut the socket, an Engine that restarts), so whether the Engine is lost
// or back is decided by a fresh one. When it answers, the connections the
// client keeps idle are dropped: the next calls dial afresh, not into a
// connection that died with the outage.
func (e *Engine) Ping(ctx context.Context) error {
	if e.opts == nil { // an Engine made without Connect
		_, err := e.api.Ping(ctx)
		return err
	}
	cli, err := client.NewClientWithOpts(append(slices.Clone(e.opts), client.WithVersion(e.APIVersion))...)
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return err
	}
	e.api.HTTPClient().CloseIdleConnections()
	return nil
}
