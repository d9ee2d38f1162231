package dockerctl

import (
	"context"
	"fmt"
	"slices"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
)

// The executor's work on the project as a whole: its containers from an
// earlier run, its images.

// adopt deals with the project's containers from an earlier run: a running
// one is kept (reattached once the build says its image is current), stopped
// ones are rescued from and removed. Only a failure to list them is an
// error: tfdev cannot know what it would run beside.
func (x *executor) adopt(ctx context.Context, p *dockerfile.Project) (loop.Adopted, error) {
	var out loop.Adopted
	ids, err := x.eng.ProjectContainers(ctx, p.Dir)
	if err != nil {
		return out, err
	}
	if out.Running, err = x.eng.Find(ctx, p.Dir); err != nil {
		return out, err
	}
	var saved *model.Ledger
	if out.Running != nil {
		out.Running.ServedDir = x.eng.ServedDir(ctx, out.Running)
		if saved, err = statefile.LoadLedger(p.Dir, out.Running.ID); err != nil {
			out.Errs = append(out.Errs, fmt.Errorf("reading what the container and the project last agreed on: %w", err))
		}
		if saved != nil {
			x.book.setLedger(out.Running.ID, saved)
		}
		if st, err := statefile.ReadState(p.Dir); err == nil && st.LiveContainer == out.Running.ID {
			out.Live = st.Image
		}
	}
	for _, id := range ids {
		if out.Running != nil && id == out.Running.ID {
			continue
		}
		c, err := x.eng.Inspect(ctx, id)
		if err != nil {
			out.Errs = append(out.Errs, err)
			continue
		}
		if statefile.NothingToRescue(p.Dir, c) {
			if err := x.eng.Remove(ctx, id); err != nil {
				out.Errs = append(out.Errs, err)
			}
			continue
		}
		rescued, err := x.eng.Rescue(ctx, c, p.Dir, p.Rules, statefile.RescueLedger(p.Dir, id))
		out.Rescued = append(out.Rescued, rescued...)
		if err != nil {
			out.Errs = append(out.Errs, fmt.Errorf("%w; container %s is kept so nothing is lost", err, c.Name))
			continue
		}
		if err := x.eng.Remove(ctx, id); err != nil {
			out.Errs = append(out.Errs, err)
		}
	}
	return out, nil
}

// prune removes the project's images other than those kept: each of their
// tags goes, and with the last one the image. An image a container still
// uses (even a stopped one) is refused by the Engine and stays.
func (x *executor) prune(ctx context.Context, e loop.PruneImages) []loop.Input {
	images, err := x.eng.ProjectImages(ctx, e.Project.Dir)
	if err != nil {
		return []loop.Input{loop.Failed{Err: err}}
	}
	removed := 0
	for _, im := range images {
		if slices.Contains(e.Keep, im.ID) {
			continue
		}
		gone := true
		for _, tag := range im.Tags {
			if err := x.eng.RemoveImage(ctx, tag, false); err != nil {
				gone = false // in use, or removed by hand meanwhile: either way not ours to force
			}
		}
		if gone && len(im.Tags) > 0 {
			removed++
		}
	}
	return []loop.Input{loop.Pruned{Removed: removed}}
}
