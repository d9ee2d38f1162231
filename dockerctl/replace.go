package dockerctl

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// Replace runs a container of a new image in place of old, never leaving
// the user with nothing: the new container is created first (same host
// port and token), old is stopped, rescue runs against the stopped old
// container (so no late save is missed), and new is started. When new
// cannot start, or ready (when not nil: WaitJupyter, say) fails for it,
// old is started again and keeps serving. Only then is old removed and new
// given its name.
func (e *Engine) Replace(ctx context.Context, old *Container, o RunOptions, rescue func(old *Container) error, ready func(nc *Container) error) (*Container, error) {
	o.Token, o.HostIP, o.HostPort = old.Token, old.HostIP, old.HostPort
	name := old.Name
	o.Name = name + "-next"
	nc, err := e.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := e.Stop(ctx, old.ID); err != nil {
		e.Remove(ctx, nc.ID)
		return nil, err
	}
	restoreOld := func(cause error) error {
		e.Remove(context.WithoutCancel(ctx), nc.ID)
		if err := e.API.ContainerStart(context.WithoutCancel(ctx), old.ID, container.StartOptions{}); err != nil {
			return fmt.Errorf("%w; and restarting the old container failed too: %v", cause, err)
		}
		e.refresh(context.WithoutCancel(ctx), old) // a port the Engine picked may have changed
		return cause
	}
	if rescue != nil {
		if err := rescue(old); err != nil {
			return nil, restoreOld(fmt.Errorf("rescuing files from the old container: %w", err))
		}
	}
	if err := e.Start(ctx, nc); err != nil {
		return nil, restoreOld(fmt.Errorf("the new container did not start, the old one serves again: %w", err))
	}
	if ready != nil {
		if err := ready(nc); err != nil {
			return nil, restoreOld(fmt.Errorf("the new container did not become ready, the old one serves again: %w", err))
		}
	}
	if err := e.Remove(ctx, old.ID); err != nil {
		return nc, err
	}
	if err := e.API.ContainerRename(ctx, nc.ID, name); err == nil {
		nc.Name = name
	}
	return nc, nil
}
