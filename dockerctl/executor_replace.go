package dockerctl

import (
	"context"
	"fmt"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// replace runs a container of the new image in place of the old one, never
// leaving the user with nothing: the new container is created first (same
// host port and token, a "-next" name, the kept files in it), what the user
// made in the old one comes home while it still runs, the old one is
// stopped, and the new one is started and must answer. When it cannot start
// or answer, it is removed and the old one starts again and keeps serving.
// Only then is the old one removed and the new one given its name.
func (x *executor) replace(ctx context.Context, e effReplace) []input {
	old := e.old
	out := inStarted{old: old, how: "replaced " + event.ShortID(old.ID)}
	o := x.runOptions(e.project.Dir, e.built.ImageID)
	o.Token, o.HostIP, o.HostPort, o.Name = old.Token, old.HostIP, old.HostPort, old.Name+"-next"
	var err error
	if out.rescued, err = x.finalPull(ctx, e.project, old); err != nil {
		out.err = fmt.Errorf("bringing home the files of the old container, which keeps serving: %w", err)
		return []input{out}
	}
	// Created after the pull: the kept files it brought home go in too.
	nc, err := x.create(ctx, e.project, e.built, o)
	if err != nil {
		out.err = err
		return []input{out}
	}
	x.unwatch(old.ID)
	if err := x.eng.Stop(ctx, old.ID); err != nil {
		out.err = x.dropNext(ctx, nc, err)
		x.watch(ctx, e.project, old)
		return []input{out}
	}
	out.oldStopped = true
	if err := x.eng.Start(ctx, nc); err != nil {
		out.err = x.restoreOld(ctx, e.project, old, nc, fmt.Errorf("the new container did not start, the old one serves again: %w", err))
		return []input{out}
	}
	if _, err := x.eng.WaitJupyter(ctx, nc, x.o.ReadyTimeout); err != nil {
		out.err = x.restoreOld(ctx, e.project, old, nc, fmt.Errorf("the new container did not become ready, the old one serves again: %w", err))
		return []input{out}
	}
	var after []input
	if err := x.eng.Remove(ctx, old.ID); err != nil {
		after = append(after, inFailed{fmt.Errorf("the new container serves; %w", err)})
	}
	delete(x.ledgers, old.ID)
	if err := x.eng.Rename(ctx, nc.ID, old.Name); err != nil {
		after = append(after, inFailed{fmt.Errorf("the new container serves as %s; %w", nc.Name, err)})
	} else {
		nc.Name = old.Name
	}
	out.c = nc
	return append(x.reconciled(ctx, e.project, out, e.built.Context), after...)
}

// dropNext removes a replacement that will not serve; cause is why.
func (x *executor) dropNext(ctx context.Context, nc *Container, cause error) error {
	delete(x.ledgers, nc.ID)
	if err := x.eng.Remove(context.WithoutCancel(ctx), nc.ID); err != nil {
		return fmt.Errorf("%w; and removing %s failed: %v", cause, nc.Name, err)
	}
	return cause
}

// restoreOld drops the replacement and starts the old container again,
// watched as before.
func (x *executor) restoreOld(ctx context.Context, p *dockerfile.Project, old, nc *Container, cause error) error {
	cause = x.dropNext(ctx, nc, cause)
	if err := x.eng.Resume(context.WithoutCancel(ctx), old); err != nil {
		return fmt.Errorf("%w; and restarting the old container failed too: %v", cause, err)
	}
	x.watch(ctx, p, old)
	return cause
}
