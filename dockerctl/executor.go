package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// shutdownTimeout bounds the stop and rescue at exit, which run on their
// own context: the session's is already cancelled.
const shutdownTimeout = 60 * time.Second

// executor carries out the reducer's effects against the Engine. Effects
// that finish quickly return their result as inputs; a build runs in the
// background and posts its result to async.
type executor struct {
	eng    engine
	o      SessionOptions
	gpu    GPUSupport
	ledger *Ledger
	emit   func(event.Event)
	async  chan<- input
	builds sync.WaitGroup
}

// Apply carries out one effect and returns what it learned as inputs.
func (x *executor) Apply(ctx context.Context, e effect) []input {
	switch e := e.(type) {
	case effEmit:
		x.emit(e.e)
	case effBuild:
		x.startBuild(ctx, e)
	case effSync:
		res, err := x.eng.Sync(ctx, e.c.ID, e.project.Dir, e.items, x.ledger)
		return []input{inSynced{res: res, err: err, paths: e.paths, line: e.line}}
	case effReconcile:
		res, err := x.eng.Reconcile(ctx, e.c.ID, e.project.Dir, e.project.Rules, e.built, x.ledger)
		return []input{inSynced{res: res, err: err, why: e.why}}
	case effStart:
		return x.start(ctx, e.project, e.built)
	case effReattach:
		return x.reattach(ctx, e)
	case effReplace:
		return x.replace(ctx, e)
	case effRestart:
		return x.restart(ctx, e.project, e.c, e.built, e.how)
	case effRecover:
		return x.recover(ctx, e)
	case effWaitReady:
		url, err := x.eng.WaitJupyter(ctx, e.c, x.o.ReadyTimeout)
		return []input{inHealth{c: e.c, url: url, err: err}}
	case effSeedLedger:
		e.res.SeedLedger(x.ledger, e.rules)
	case effWriteState:
		if err := writeState(e.project.Dir, e.built, e.c); err != nil {
			return []input{inFailed{fmt.Errorf("recording the session for tfdev status: %w", err)}}
		}
	case effUntagImage:
		// The image itself goes when nothing else holds it. A tag that is
		// already gone (removed by hand) is what we wanted anyway.
		_ = x.eng.RemoveImage(ctx, ImageRepo(e.project.Dir)+":"+event.ShortID(e.image), false)
	case effShutdown:
		return x.shutdown(e)
	default:
		panic(fmt.Sprintf("executor: unknown effect %T", e))
	}
	return nil
}

// wait waits for the builds under way: none outlives the session.
func (x *executor) wait() { x.builds.Wait() }

func (x *executor) startBuild(ctx context.Context, e effBuild) {
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		res, err := x.build(ctx, e.project)
		select {
		case x.async <- inBuilt{res: res, err: err, project: e.project}:
		case <-ctx.Done(): // the session ended: nobody waits for it
		}
	}()
}

func (x *executor) build(ctx context.Context, p *dockerfile.Project) (*BuildResult, error) {
	repo := ImageRepo(p.Dir)
	res, err := x.eng.Build(ctx, BuildOptions{
		Project: p, Tags: []string{repo + ":latest"}, BuildArgs: x.o.BuildArgs, Target: x.o.Target,
		Builder:  x.o.Builder,
		Labels:   map[string]string{LabelProject: ProjectID(p.Dir)},
		Progress: func(sp StepProgress) { x.emit(sp.Event(p.Model.Name)) },
	})
	if err != nil {
		return nil, err
	}
	// The image's own tag keeps it from being pruned while it serves; a
	// failure costs nothing else, so it is said and the build stands.
	if err := x.eng.TagImage(ctx, res.ImageID, repo+":"+event.ShortID(res.ImageID)); err != nil {
		x.emit(event.Event{Kind: event.Error, Message: err.Error()})
	}
	return res, nil
}

func (x *executor) runOptions(dir, image string) RunOptions {
	return RunOptions{Dir: dir, Image: image, HostIP: x.o.HostIP, HostPort: x.o.Port, Token: x.o.Token, GPUs: x.o.GPUs, GPU: x.gpu}
}

// start creates and starts a container of the built image, then brings its
// files up to date: "ready" means up to date.
func (x *executor) start(ctx context.Context, p *dockerfile.Project, built *BuildResult) []input {
	c, err := x.eng.Create(ctx, x.runOptions(p.Dir, built.ImageID))
	if err != nil {
		return []input{inStarted{err: err}}
	}
	if err := x.eng.Start(ctx, c); err != nil {
		if rerr := x.eng.Remove(context.WithoutCancel(ctx), c.ID); rerr != nil {
			err = fmt.Errorf("%w (and removing the container that did not start: %v)", err, rerr)
		}
		return []input{inStarted{err: err}}
	}
	return x.reconciled(ctx, p, inStarted{c: c, how: "new"}, built.Context)
}

// reconciled brings the started container's files up to date and returns
// the start's result with what the reconcile did.
func (x *executor) reconciled(ctx context.Context, p *dockerfile.Project, st inStarted, built []string) []input {
	res, err := x.eng.Reconcile(ctx, st.c.ID, p.Dir, p.Rules, built, x.ledger)
	st.synced = res
	out := []input{st}
	if err != nil {
		out = append(out, inSynced{err: err, why: st.how})
	}
	return out
}

func (x *executor) reattach(ctx context.Context, e effReattach) []input {
	rescued, err := x.eng.Rescue(ctx, e.c, e.project.Dir, e.project.Rules, x.ledger)
	out := x.reconciled(ctx, e.project, inStarted{c: e.c, how: "reattached", rescued: rescued}, e.built.Context)
	if err != nil {
		out = append(out, inFailed{err})
	}
	return out
}

func (x *executor) restart(ctx context.Context, p *dockerfile.Project, c *Container, built []string, how string) []input {
	if err := x.eng.Resume(ctx, c); err != nil {
		return []input{inStarted{err: err}}
	}
	return x.reconciled(ctx, p, inStarted{c: c, how: how}, built)
}

// recover looks at the container after the Engine came back: a running one
// is reconciled, a stopped one restarted, a vanished one replaced by a new
// container of the last build.
func (x *executor) recover(ctx context.Context, e effRecover) []input {
	var built []string
	if e.built != nil && e.built.ImageID == e.c.Image {
		built = e.built.Context
	}
	c, err := x.eng.Inspect(ctx, e.c.ID)
	switch {
	case err != nil && e.built != nil:
		return x.start(ctx, e.project, e.built)
	case err != nil:
		return []input{inFailed{fmt.Errorf("the container is gone and no image is built yet: %w", err)}}
	case !c.Running:
		return x.restart(ctx, e.project, c, built, "restarted after the Engine came back")
	}
	res, err := x.eng.Reconcile(ctx, c.ID, e.project.Dir, e.project.Rules, built, x.ledger)
	return []input{inSynced{res: res, err: err, why: "the Engine came back"}}
}

func (x *executor) shutdown(e effShutdown) []input {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	stopErr := x.eng.Stop(ctx, e.c.ID)
	rescued, err := x.eng.Rescue(ctx, e.c, e.project.Dir, e.project.Rules, x.ledger)
	return []input{inStopped{c: e.c, rescued: rescued, err: errors.Join(stopErr, err)}}
}

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
	for _, id := range ids {
		if out.running != nil && id == out.running.ID {
			continue
		}
		c, err := x.eng.Inspect(ctx, id)
		if err != nil {
			out.errs = append(out.errs, err)
			continue
		}
		rescued, err := x.eng.Rescue(ctx, c, p.Dir, p.Rules, x.ledger)
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
