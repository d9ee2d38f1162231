package dockerctl

import (
	"context"
)

// The effects that run beside the loop until a container serves: the
// wait for its Jupyter and the comparison of its files with the tree.

// startWaitReady waits for the container's Jupyter beside the loop: a
// fresh Jupyter takes seconds to answer, and edits are synced meanwhile.
func (x *executor) startWaitReady(ctx context.Context, e effWaitReady) {
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		url, err := x.eng.WaitJupyter(ctx, e.c, x.o.ReadyTimeout)
		send(ctx, x.async, inHealth{c: e.c, url: url, err: err})
	}()
}

// serve sends users to the container whose Jupyter answered: the front
// door switches to it, and the watch of what is written in it starts
// first, since ready means two-way sync too.
func (x *executor) serve(ctx context.Context, e effServe) []input {
	out := x.watch(ctx, e.project, e.c)
	url := e.url
	if x.door != nil {
		if err := x.switchDoor(e.c); err != nil {
			return append(out, inHealth{c: e.c, err: err})
		}
		url = x.door.URL(url)
	}
	return append(out, inServing{c: e.c, url: url})
}

// startReconcile compares the tree with the container beside the loop:
// listing sizes and times in the container and hashing what differs can
// take seconds on a large project, and edits made meanwhile are synced as
// they come. What the comparison finds comes back as an inReconciled.
func (x *executor) startReconcile(ctx context.Context, e effReconcile) {
	ledger := x.ledgerOf(e.c.ID)
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		done := x.phase("comparing the project with the container (" + e.why + ")")
		w, err := x.eng.PlanReconcile(ctx, e.c.ID, e.project.Dir, e.project.Rules, e.built, ledger)
		done()
		if engineGone(err) && ctx.Err() == nil {
			send(ctx, x.async, inEngine{lost: true, err: err})
		}
		send(ctx, x.async, inReconciled{c: e.c, work: w, err: err, why: e.why})
	}()
}
