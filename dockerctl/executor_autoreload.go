package dockerctl

import (
	"context"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// turnOnAutoreload places the startup file in a container that just
// started, or that tfdev reattached to. Kernels that ran before (a
// reattach to a container of a run without it) get what the startup file
// gives, through their channels, at once: tfdev's reloads reach them too.
func (x *executor) turnOnAutoreload(ctx context.Context, p *dockerfile.Project, c *model.Container, reattached bool) {
	if x.o.NoAutoreload {
		return
	}
	_, _, err := x.eng.PlaceAutoreload(ctx, c.ID, loop.KernelPathRoots(p.Rules))
	if err != nil {
		x.emit(event.Event{Kind: event.Error, Container: c.Name, Message: err.Error() + "; edits reach kernels only after a restart or %autoreload"})
		return
	}
	if !reattached {
		return
	}
	x.tasks.Go("tell the kernels what changed", func() {
		// A kernel busy with a cell answers after it; none waits for it.
		_ = x.eng.ReloadKernels(ctx, c, nil, func(model.KernelReload) {})
	})
}
