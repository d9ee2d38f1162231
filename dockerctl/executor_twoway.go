package dockerctl

import (
	"context"
	"fmt"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// watch starts watching what is written in the container's rescue roots
// (once its Jupyter said which folder it serves); its batches come back to
// the loop as inContainerChanged.
func (x *executor) watch(ctx context.Context, p *dockerfile.Project, c *model.Container) []loop.Input {
	if w, ok := x.book.watch(c.ID); ok {
		select {
		case <-w.Done(): // the container stopped since: a new watch
		default:
			return nil
		}
	}
	c.ServedDir = x.eng.ServedDir(ctx, c)
	w, err := x.eng.WatchContainer(ctx, c.ID, engine.RescueRoots(p.Rules, c))
	if err != nil {
		return []loop.Input{loop.Failed{Err: fmt.Errorf("files saved in the container come home only when it stops or is replaced: %w", err)}}
	}
	x.book.setWatch(c.ID, w)
	x.probe(ctx, c, w.Done())
	x.tasks.Go("watch what is written in the container", func() {
		for {
			select {
			case sums := <-w.Changes():
				x.reported(c.ID, sums)
				if !send(ctx, x.async, loop.ContainerChanged{C: c, Sums: sums}) {
					return
				}
			case <-w.Done():
				return
			case <-ctx.Done():
				return
			}
		}
	})
	return nil
}

// unwatch ends the container's watch.
func (x *executor) unwatch(id string) {
	if w, ok := x.book.takeWatch(id); ok {
		w.Close()
	}
}

// finalPull brings home what was written in a running container that is
// about to stop: what its watcher reported that the loop has not brought
// home yet and what it saw since, or, without a watcher, every file newer
// than tfdev's start marker.
func (x *executor) finalPull(ctx context.Context, p *dockerfile.Project, c *model.Container) ([]model.Rescued, error) {
	l := x.ledgerOf(c.ID)
	if w, ok := x.book.watch(c.ID); ok {
		if sums, err := w.Flush(ctx); err == nil {
			x.reported(c.ID, sums)
			all := x.takeUnpulled(c.ID)
			return x.eng.PullHome(ctx, c.ID, p.Dir, p.Rules, all, l, x.pullProgress)
		}
	}
	return x.eng.Rescue(ctx, c, p.Dir, p.Rules, l)
}

// reported notes files the container's watch reported.
func (x *executor) reported(id string, sums map[string]string) {
	x.unpulledMu.Lock()
	defer x.unpulledMu.Unlock()
	m := x.unpulled[id]
	if m == nil {
		m = map[string]string{}
		x.unpulled[id] = m
	}
	for p, s := range sums {
		m[p] = s
	}
}

// pulled forgets reports that came home (unless the file changed again).
func (x *executor) pulled(id string, sums map[string]string) {
	x.unpulledMu.Lock()
	defer x.unpulledMu.Unlock()
	for p, s := range sums {
		if x.unpulled[id][p] == s {
			delete(x.unpulled[id], p)
		}
	}
}

func (x *executor) takeUnpulled(id string) map[string]string {
	x.unpulledMu.Lock()
	defer x.unpulledMu.Unlock()
	m := x.unpulled[id]
	delete(x.unpulled, id)
	return m
}

// pullProgress tells the user how far a large file coming home is.
func (x *executor) pullProgress(p string, done, total int64) {
	x.emit(event.Event{Kind: event.RescueProgress, From: p, Bytes: done, Size: total})
}

// probeEvery is how often Jupyter is asked whether it answers while the
// session runs.
const probeEvery = 3 * time.Second

// probe asks the container's Jupyter every probeEvery whether it answers,
// until the container's watch ends, and tells the loop when the answer
// changes: "ready" is never shown while Jupyter does not answer.
func (x *executor) probe(ctx context.Context, c *model.Container, done <-chan struct{}) {
	x.tasks.Go("probe Jupyter", func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		ok := true
		for {
			select {
			case <-t.C:
			case <-done:
				return
			case <-ctx.Done():
				return
			}
			pctx, cancel := context.WithTimeout(ctx, probeEvery)
			err := x.eng.ProbeJupyter(pctx, c)
			cancel()
			if (err == nil) != ok {
				ok = err == nil
				if !send(ctx, x.async, loop.Probed{C: c, Err: err, At: time.Now()}) {
					return
				}
			}
		}
	})
}
