package dockerctl

import (
	"context"
	"fmt"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// turnOnAutoreload places the startup file in a container that just
// started, or that tfdev reattached to; in the latter, kernels that were
// running before are not changed behind the user's back: tfdev says which
// lack autoreload and how they get it.
func (x *executor) turnOnAutoreload(ctx context.Context, p *dockerfile.Project, c *model.Container, reattached bool) {
	if x.o.NoAutoreload {
		return
	}
	_, existed, err := x.eng.PlaceAutoreload(ctx, c.ID, loop.KernelPathRoots(p.Rules))
	if err != nil {
		x.emit(event.Event{Kind: event.Error, Container: c.Name, Message: err.Error() + "; edits reach kernels only after a restart or %autoreload"})
		return
	}
	if !reattached || existed {
		return
	}
	ids, err := x.eng.RunningKernels(ctx, c)
	if err != nil || len(ids) == 0 {
		return
	}
	x.emit(event.Event{Kind: event.Info, Container: c.Name, Message: fmt.Sprintf(
		"%d kernel(s) ran before tfdev turned autoreload on (%s): restart them, or run %%load_ext autoreload and %%autoreload 2 in them, for your edits to reach them; new kernels have it",
		len(ids), strings.Join(ids, ", "))})
}
