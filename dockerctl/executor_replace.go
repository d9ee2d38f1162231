package dockerctl

import (
	"context"
	"fmt"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// replace runs a container of the new image in place of the old one with
// no downtime: what the user made in the old one comes home while it
// serves; the new container is created (the kept files in it), started,
// brought up to date and must answer, all beside the old one; then the
// saves made meanwhile in the old one come home too, the front door
// switches to the new one, and only then is the old one stopped and
// removed. When the new one cannot start or answer, it is removed and the
// old one, never stopped, keeps serving. The old one's kernels are carried
// into the new one, variables and all, under the IDs the pages know
// (executor_carry.go), unless carrying is off: then they end with it.
func (x *executor) replace(ctx context.Context, e loop.Replace) []loop.Input {
	if e.Again {
		// The Engine's loss cut the last try short: its half-made
		// container may be left, under the name this one takes.
		if err := x.dropNextContainers(ctx, e.Project.Dir, e.Old.ID); err != nil {
			return []loop.Input{x.cut(loop.Started{Old: e.Old, How: "replaced", Err: fmt.Errorf("removing the replacement the Engine's loss left; the old container keeps serving: %w", err)})}
		}
	}
	ins := x.replaceOnce(ctx, e)
	for i, in := range ins {
		if st, ok := in.(loop.Started); ok {
			ins[i] = x.cut(st)
		}
	}
	return ins
}

// cut marks a replacement that failed because the Engine could not be
// reached: the loop makes it again once the Engine answers.
func (x *executor) cut(st loop.Started) loop.Started {
	st.Cut = st.Err != nil && engine.EngineGone(st.Err)
	return st
}

func (x *executor) replaceOnce(ctx context.Context, e loop.Replace) []loop.Input {
	old := e.Old
	out := loop.Started{Old: old, How: "replaced " + event.ShortID(old.ID) + "; kernels restarted: image changed"}
	o := x.runOptions(e.Project.Dir, e.Built.ImageID)
	o.Token, o.Name, o.HostPort = old.Token, old.Name+"-next", 0 // beside the old one: a port of its own
	var err error
	end := countedPhase(x.emit, "replacing: bringing home what you made in the old container, which keeps serving")
	out.Rescued, err = x.finalPull(ctx, e.Project, old)
	end(out.Rescued)
	if err != nil {
		out.Err = fmt.Errorf("bringing home the files of the old container, which keeps serving: %w", err)
		return []loop.Input{out}
	}
	done := x.phase("replacing: creating and starting the new container")
	nc, err := x.create(ctx, e.Project, e.Built, o)
	if err != nil {
		done()
		out.Err = err
		return []loop.Input{out}
	}
	if err := x.startCreated(ctx, e.Project, nc); err != nil {
		done()
		out.Err = x.dropNext(ctx, nc, fmt.Errorf("the new container did not start; the old one keeps serving: %w", err))
		return []loop.Input{out}
	}
	done()
	done = x.phase("replacing: waiting for the new container's Jupyter")
	res, err := x.eng.Reconcile(ctx, nc.ID, e.Project.Dir, e.Project.Rules, e.Built.Context, x.ledgerOf(nc.ID))
	if err == nil {
		_, err = x.eng.WaitJupyter(ctx, nc, x.o.ReadyTimeout)
	}
	done()
	if err != nil {
		out.Err = x.dropNext(ctx, nc, fmt.Errorf("the new container did not become ready; the old one keeps serving: %w", err))
		return []loop.Input{out}
	}
	if err := x.catchUp(ctx, e, nc, &out); err != nil {
		out.Err = x.dropNext(ctx, nc, err)
		return []loop.Input{out}
	}
	var ids map[string]string
	if x.door != nil && !x.o.NoCarry {
		var carried, all int
		ids, carried, all = x.carryKernels(ctx, old, nc)
		out.How = "replaced " + event.ShortID(old.ID) + "; " + carriedHow(carried, all)
	}
	if x.door != nil {
		if err := x.switchDoor(e.Project.Dir, nc, ids); err != nil {
			out.Err = x.dropNext(ctx, nc, err)
			return []loop.Input{out}
		}
	}
	out.C, out.Synced, out.Reconciled = nc, res, true
	done = x.phase("replacing: switched; stopping the old container")
	defer done()
	return append([]loop.Input{out}, x.retire(ctx, old, nc)...)
}

// carriedHow says what became of the kernels in a replacement.
func carriedHow(carried, all int) string {
	switch {
	case all == 0:
		return "no kernel was running"
	case carried == all:
		return fmt.Sprintf("kernels carried with their variables: %d of %d", carried, all)
	}
	return fmt.Sprintf("kernels carried with their variables: %d of %d (the others start empty)", carried, all)
}

// catchUp brings home what the user saved in the old container while the
// new one started, and puts it in the new one before it serves.
func (x *executor) catchUp(ctx context.Context, e loop.Replace, nc *model.Container, out *loop.Started) error {
	late, err := x.finalPull(ctx, e.Project, e.Old)
	if err != nil {
		return fmt.Errorf("bringing home the last files of the old container, which keeps serving: %w", err)
	}
	if len(late) == 0 {
		return nil
	}
	out.Rescued = append(out.Rescued, late...)
	if err := x.eng.Prepare(ctx, nc.ID, e.Project.Dir, x.ledgerOf(nc.ID)); err != nil {
		return err
	}
	_, err = x.eng.Reconcile(ctx, nc.ID, e.Project.Dir, e.Project.Rules, e.Built.Context, x.ledgerOf(nc.ID))
	return err
}

// retire stops and removes the old container once the new one serves, and
// gives the new one its name; what fails here is said, but the new one
// serves all the same.
func (x *executor) retire(ctx context.Context, old, nc *model.Container) []loop.Input {
	var after []loop.Input
	x.unwatch(old.ID)
	if err := x.eng.Stop(ctx, old.ID); err != nil {
		after = append(after, loop.Failed{Err: fmt.Errorf("the new container serves; stopping the old one: %w", err)})
	}
	if err := x.eng.Remove(ctx, old.ID); err != nil {
		after = append(after, loop.Failed{Err: fmt.Errorf("the new container serves; %w", err)})
	}
	x.book.dropLedger(old.ID)
	if err := x.eng.Rename(ctx, nc.ID, old.Name); err != nil {
		after = append(after, loop.Failed{Err: fmt.Errorf("the new container serves as %s; %w", nc.Name, err)})
	} else {
		nc.Name = old.Name
	}
	return after
}

// dropNext removes a replacement that will not serve; cause is why.
func (x *executor) dropNext(ctx context.Context, nc *model.Container, cause error) error {
	x.book.dropLedger(nc.ID)
	if err := x.eng.Remove(context.WithoutCancel(ctx), nc.ID); err != nil {
		return fmt.Errorf("%w; and removing %s failed: %v", cause, nc.Name, err)
	}
	return cause
}
