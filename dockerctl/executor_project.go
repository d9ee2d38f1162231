package dockerctl

import (
	"context"
	"fmt"
	"slices"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
	"github.com/tfdev-dev/tfdev/watcher"
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
	if out.Conflicts, err = statefile.ReadConflicts(p.Dir); err != nil {
		out.Errs = append(out.Errs, fmt.Errorf("reading the conflicts an earlier session kept: %w", err))
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
			out.Live, out.Via = st.Image, st.LiveVia
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
		rescued, _, err := Retire(ctx, x.eng, p, c)
		out.Rescued = append(out.Rescued, rescued...)
		if err != nil {
			out.Errs = append(out.Errs, err)
		}
	}
	return out, nil
}

// retirer is what retiring a container takes of the Engine.
type retirer interface {
	ServedDir(ctx context.Context, c *model.Container) string
	Rescue(ctx context.Context, c *model.Container, hostDir string, rules watcher.Rules, ledger *model.Ledger) ([]model.Rescued, error)
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
}

// Retire brings home what the user made in a container of the project
// (while it runs, when it does), then stops and removes it; home says its
// files had come home already (tfdev up stopped it), so it was removed at
// once. A rescue that fails keeps the container, so nothing is lost, and
// the error says so. tfdev down and the start of tfdev up both retire
// containers this way.
func Retire(ctx context.Context, eng retirer, p *dockerfile.Project, c *model.Container) (rescued []model.Rescued, home bool, err error) {
	if statefile.NothingToRescue(p.Dir, c) {
		return nil, true, eng.Remove(ctx, c.ID)
	}
	if c.Running {
		c.ServedDir = eng.ServedDir(ctx, c)
	}
	rescued, err = eng.Rescue(ctx, c, p.Dir, p.Rules, statefile.RescueLedger(p.Dir, c.ID))
	if err != nil {
		return rescued, false, fmt.Errorf("%w; the container %s is kept so nothing is lost", err, c.Name)
	}
	if c.Running {
		if err := eng.Stop(ctx, c.ID); err != nil {
			return rescued, false, err
		}
	}
	return rescued, false, eng.Remove(ctx, c.ID)
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
