package dockerctl

import (
	"context"
	"fmt"
	"slices"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
)

// The executor's work on the project as a whole: its containers from an
// earlier run, its images.

// adopt deals with the project's containers from an earlier run: a running
// one is kept (reattached once the build says its image is current), stopped
// ones are rescued from and removed. Only a failure to list them is an
// error: tfdev cannot know what it would run beside.
func (x *executor) adopt(ctx context.Context, p *dockerfile.Project) (inAdopted, error) {
	var out inAdopted
	ids, err := x.eng.ProjectContainers(ctx, p.Dir)
	if err != nil {
		return out, err
	}
	if out.running, err = x.eng.Find(ctx, p.Dir); err != nil {
		return out, err
	}
	var saved *Ledger
	if out.running != nil {
		out.running.ServedDir = x.eng.ServedDir(ctx, out.running)
		if saved, err = LoadLedger(p.Dir, out.running.ID); err != nil {
			out.errs = append(out.errs, fmt.Errorf("reading what the container and the project last agreed on: %w", err))
		}
		if saved != nil {
			x.ledgers[out.running.ID] = saved
		}
		if st, err := ReadState(p.Dir); err == nil && st.LiveContainer == out.running.ID {
			out.live = st.Image
		}
	}
	for _, id := range ids {
		if out.running != nil && id == out.running.ID {
			continue
		}
		c, err := x.eng.Inspect(ctx, id)
		if err != nil {
			out.errs = append(out.errs, err)
			continue
		}
		if NothingToRescue(p.Dir, c) {
			if err := x.eng.Remove(ctx, id); err != nil {
				out.errs = append(out.errs, err)
			}
			continue
		}
		rescued, err := x.eng.Rescue(ctx, c, p.Dir, p.Rules, RescueLedger(p.Dir, id))
		out.rescued = append(out.rescued, rescued...)
		if err != nil {
			out.errs = append(out.errs, fmt.Errorf("%w; container %s is kept so nothing is lost", err, c.Name))
			continue
		}
		if err := x.eng.Remove(ctx, id); err != nil {
			out.errs = append(out.errs, err)
		}
	}
	return out, nil
}

// prune removes the project's images other than those kept: each of their
// tags goes, and with the last one the image. An image a container still
// uses (even a stopped one) is refused by the Engine and stays.
func (x *executor) prune(ctx context.Context, e effPruneImages) []input {
	images, err := x.eng.ProjectImages(ctx, e.project.Dir)
	if err != nil {
		return []input{inFailed{err}}
	}
	removed := 0
	for _, im := range images {
		if slices.Contains(e.keep, im.ID) {
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
	return []input{inPruned{removed: removed}}
}
