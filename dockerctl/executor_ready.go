package dockerctl

import (
	"context"

	"github.com/tfdev-dev/tfdev/dockerctl/loop"
)

// The effects that run beside the loop until a container serves: the
// wait for its Jupyter and the comparison of its files with the tree.

// waitReady waits for the container's Jupyter, beside the loop: a fresh
// Jupyter takes seconds to answer, and edits are synced meanwhile.
func (x *executor) waitReady(ctx context.Context, e loop.WaitReady) []loop.Input {
	url, err := x.eng.WaitJupyter(ctx, e.C, x.o.ReadyTimeout)
	return []loop.Input{loop.Health{C: e.C, URL: url, Err: err}}
}

// serve sends users to the container whose Jupyter answered: the front
// door switches to it, and the watch of what is written in it starts
// first, since ready means two-way sync too.
func (x *executor) serve(ctx context.Context, e loop.Serve) []loop.Input {
	out := x.watch(ctx, e.Project, e.C)
	url := e.URL
	if x.door != nil {
		if err := x.switchDoor(e.Project.Dir, e.C, nil); err != nil {
			return append(out, loop.Health{C: e.C, Err: err})
		}
		url = x.door.URL(url)
	}
	return append(out, loop.Serving{C: e.C, URL: url})
}

// compare compares the tree with the container, beside the loop: listing
// sizes and times in the container and hashing what differs can take
// seconds on a large project, and edits made meanwhile are synced as they
// come. What the comparison finds comes back as a Reconciled.
func (x *executor) compare(ctx context.Context, e loop.Reconcile) []loop.Input {
	end := failablePhase(x.emit, "comparing the project with the container ("+e.Why+")")
	w, err := x.eng.PlanReconcile(ctx, e.C.ID, e.Project.Dir, e.Project.Rules, e.Built, x.ledgerOf(e.C.ID))
	end(err)
	return []loop.Input{loop.Reconciled{C: e.C, Work: w, Err: err, Why: e.Why}}
}
