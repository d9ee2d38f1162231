package dockerctl

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// carryKernels carries the old container's kernels into nc once its
// Jupyter answers and before the door switches: a kernel of the same kind
// starts there for each, with the user's variables, under the ID the pages
// know (the door maps it). The old kernels run on until the switch. A
// kernel whose variables cannot be carried still gets an empty kernel in
// its place, and tfdev says which and why. It returns the IDs the door
// maps and how many kernels came with their variables.
func (x *executor) carryKernels(ctx context.Context, old, nc *model.Container) (ids map[string]string, carried, all int) {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ks, err := x.eng.Kernels(lctx, old)
	cancel()
	if err != nil {
		x.emit(event.Event{Kind: event.KernelRestarted, Reason: "the old container's kernels could not be listed: " + err.Error(), Message: "its kernels start empty"})
		return nil, 0, 0
	}
	ids = map[string]string{}
	if len(ks) == 0 {
		return ids, 0, 0
	}
	shown := x.door.Shown // the IDs pages know, before this switch
	end := failablePhase(x.emit, fmt.Sprintf("replacing: carrying the variables of %d %s into the new container", len(ks), event.Plural(len(ks), "kernel", "kernels")))
	// Side by side: a new kernel takes about a second to start, and one
	// kernel's start overlaps another's variables being written.
	type result struct {
		c   model.Carried
		err error
	}
	results := make([]result, len(ks))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4) // a few at a time: each holds its variables in memory twice
	for i, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			c, err := x.eng.CarryKernel(ctx, old, nc, k, model.CarryOptions{Cap: x.o.CarryCap})
			results[i] = result{c, err}
		}()
	}
	wg.Wait()
	for i, k := range ks {
		c, err := results[i].c, results[i].err
		for o, n := range c.IDs() {
			ids[o] = n
		}
		if err != nil {
			where := "an empty kernel takes its place under its ID"
			if c.New == "" {
				where = "the notebooks using it must start a new kernel"
			} else {
				x.door.Restarted(c.New) // its pages are told it restarted
			}
			x.emit(event.Event{Kind: event.KernelRestarted, Kernel: shown(k.ID), Reason: err.Error(), Message: where})
			continue
		}
		carried++
		names := slices.Clone(c.Names)
		slices.Sort(names)
		x.emit(event.Event{Kind: event.KernelCarried, Kernel: shown(k.ID), Names: names, Bytes: c.Bytes, Duration: c.Took, Pickler: c.Pickler, Left: c.Left})
	}
	end(nil)
	return ids, carried, len(ks)
}

// shownKernel is the ID pages know for a kernel of the serving container.
func (x *executor) shownKernel(id string) string {
	if x.door == nil {
		return id
	}
	return x.door.Shown(id)
}
