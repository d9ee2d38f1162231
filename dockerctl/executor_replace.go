package dockerctl

import (
	"context"
	"fmt"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// replace runs a container of the new image in place of the old one with
// no downtime: what the user made in the old one comes home while it
// serves; the new container is created (the kept files in it), started,
// brought up to date and must answer, all beside the old one; then the
// saves made meanwhile in the old one come home too, the front door
// switches to the new one, and only then is the old one stopped and
// removed. When the new one cannot start or answer, it is removed and the
// old one, never stopped, keeps serving. Kernels of the old one end with it.
func (x *executor) replace(ctx context.Context, e effReplace) []input {
	old := e.old
	out := inStarted{old: old, how: "replaced " + event.ShortID(old.ID) + "; kernels restarted: image changed"}
	o := x.runOptions(e.project.Dir, e.built.ImageID)
	o.Token, o.Name, o.HostPort = old.Token, old.Name+"-next", 0 // beside the old one: a port of its own
	var err error
	end := countedPhase(x.emit, "replacing: bringing home what you made in the old container, which keeps serving")
	out.rescued, err = x.finalPull(ctx, e.project, old)
	end(out.rescued)
	if err != nil {
		out.err = fmt.Errorf("bringing home the files of the old container, which keeps serving: %w", err)
		return []input{out}
	}
	done := x.phase("replacing: creating and starting the new container")
	nc, err := x.create(ctx, e.project, e.built, o)
	if err != nil {
		done()
		out.err = err
		return []input{out}
	}
	if err := x.startCreated(ctx, e.project, nc); err != nil {
		done()
		out.err = x.dropNext(ctx, nc, fmt.Errorf("the new container did not start; the old one keeps serving: %w", err))
		return []input{out}
	}
	done()
	done = x.phase("replacing: waiting for the new container's Jupyter")
	res, err := x.eng.Reconcile(ctx, nc.ID, e.project.Dir, e.project.Rules, e.built.Context, x.ledgerOf(nc.ID))
	if err == nil {
		_, err = x.eng.WaitJupyter(ctx, nc, x.o.ReadyTimeout)
	}
	done()
	if err != nil {
		out.err = x.dropNext(ctx, nc, fmt.Errorf("the new container did not become ready; the old one keeps serving: %w", err))
		return []input{out}
	}
	if err := x.catchUp(ctx, e, nc, &out); err != nil {
		out.err = x.dropNext(ctx, nc, err)
		return []input{out}
	}
	if x.door != nil {
		if err := x.switchDoor(nc); err != nil {
			out.err = x.dropNext(ctx, nc, err)
			return []input{out}
		}
	}
	out.c, out.synced, out.reconciled = nc, res, true
	done = x.phase("replacing: switched; stopping the old container")
	defer done()
	return append([]input{out}, x.retire(ctx, old, nc)...)
}

// catchUp brings home what the user saved in the old container while the
// new one started, and puts it in the new one before it serves.
func (x *executor) catchUp(ctx context.Context, e effReplace, nc *Container, out *inStarted) error {
	late, err := x.finalPull(ctx, e.project, e.old)
	if err != nil {
		return fmt.Errorf("bringing home the last files of the old container, which keeps serving: %w", err)
	}
	if len(late) == 0 {
		return nil
	}
	out.rescued = append(out.rescued, late...)
	if err := x.eng.Prepare(ctx, nc.ID, e.project.Dir, x.ledgerOf(nc.ID)); err != nil {
		return err
	}
	_, err = x.eng.Reconcile(ctx, nc.ID, e.project.Dir, e.project.Rules, e.built.Context, x.ledgerOf(nc.ID))
	return err
}

// retire stops and removes the old container once the new one serves, and
// gives the new one its name; what fails here is said, but the new one
// serves all the same.
func (x *executor) retire(ctx context.Context, old, nc *Container) []input {
	var after []input
	x.unwatch(old.ID)
	if err := x.eng.Stop(ctx, old.ID); err != nil {
		after = append(after, inFailed{fmt.Errorf("the new container serves; stopping the old one: %w", err)})
	}
	if err := x.eng.Remove(ctx, old.ID); err != nil {
		after = append(after, inFailed{fmt.Errorf("the new container serves; %w", err)})
	}
	delete(x.ledgers, old.ID)
	if err := x.eng.Rename(ctx, nc.ID, old.Name); err != nil {
		after = append(after, inFailed{fmt.Errorf("the new container serves as %s; %w", nc.Name, err)})
	} else {
		nc.Name = old.Name
	}
	return after
}

// dropNext removes a replacement that will not serve; cause is why.
func (x *executor) dropNext(ctx context.Context, nc *Container, cause error) error {
	delete(x.ledgers, nc.ID)
	if err := x.eng.Remove(context.WithoutCancel(ctx), nc.ID); err != nil {
		return fmt.Errorf("%w; and removing %s failed: %v", cause, nc.Name, err)
	}
	return cause
}
