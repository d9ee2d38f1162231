package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	eng     engine
	o       SessionOptions
	gpu     GPUSupport
	emit    func(event.Event)
	async   chan<- input
	builds  sync.WaitGroup
	ledgers map[string]*Ledger        // per container: what host and container agree on
	watches map[string]containerWatch // per container: what is written in it
	watchWG sync.WaitGroup
	// unpulled holds, per container, what its watch reported and the loop
	// has not brought home yet: a stop brings these home too.
	unpulledMu sync.Mutex
	unpulled   map[string]map[string]string
	// reconnecting: a wait for the Engine is under way.
	reconnecting atomic.Bool
	// door is the front door users come in through; nil: none (tests).
	door *FrontDoor
}

func newExecutor(eng engine, o SessionOptions, gpu GPUSupport, emit func(event.Event), async chan<- input) *executor {
	return &executor{eng: eng, o: o, gpu: gpu, emit: emit, async: async, ledgers: map[string]*Ledger{}, watches: map[string]containerWatch{},
		unpulled: map[string]map[string]string{}}
}

// ledgerOf is the container's ledger, empty for a container tfdev knows
// nothing of.
func (x *executor) ledgerOf(id string) *Ledger {
	l, ok := x.ledgers[id]
	if !ok {
		l = NewLedger()
		x.ledgers[id] = l
	}
	return l
}

// Apply carries out one effect and returns what it learned as inputs. A
// result that failed because the Engine cannot be reached comes after an
// inEngine{lost}: the loop then knows why.
func (x *executor) Apply(ctx context.Context, e effect) []input {
	ins := x.apply(ctx, e)
	for _, in := range ins {
		if err := failure(in); engineGone(err) && ctx.Err() == nil {
			return append([]input{inEngine{lost: true, err: err}}, ins...)
		}
	}
	return ins
}

func (x *executor) apply(ctx context.Context, e effect) []input {
	switch e := e.(type) {
	case effEmit:
		x.emit(e.e)
	case effBuild:
		x.startBuild(ctx, e)
	case effSync:
		res, err := x.eng.Sync(ctx, e.c.ID, e.project.Dir, e.items, x.ledgerOf(e.c.ID))
		return []input{inSynced{res: res, err: err, paths: e.paths, line: e.line, why: e.why, modules: e.modules, restart: e.restart}}
	case effReconcile:
		x.startReconcile(ctx, e)
	case effPull:
		rescued, err := x.eng.PullHome(ctx, e.c.ID, e.project.Dir, e.project.Rules, e.sums, x.ledgerOf(e.c.ID), x.pullProgress)
		if err == nil {
			x.pulled(e.c.ID, e.sums)
		}
		return []input{inPulled{rescued: rescued, err: err}}
	case effStart:
		return x.start(ctx, e.project, e.built)
	case effReattach:
		return x.reattach(ctx, e)
	case effReplace:
		return x.replace(ctx, e)
	case effRestart:
		return x.restart(ctx, e.c, e.how)
	case effRecover:
		return x.recover(ctx, e)
	case effWaitReady:
		x.startWaitReady(ctx, e)
	case effServe:
		return x.serve(ctx, e)
	case effReplay:
		x.startReplay(ctx, e)
	case effWriteState:
		return x.writeState(e)
	case effPruneImages:
		return x.prune(ctx, e)
	case effShutdown:
		return x.shutdown(e)
	case effKeep:
		return x.keep(e)
	case effReconnect:
		x.reconnect(ctx)
	default:
		panic(fmt.Sprintf("executor: unknown effect %T", e))
	}
	return nil
}

// wait ends the container watches and waits for the builds under way:
// none outlives the session.
func (x *executor) wait() {
	for id := range x.watches {
		x.unwatch(id)
	}
	x.watchWG.Wait()
	x.builds.Wait()
}

func (x *executor) startBuild(ctx context.Context, e effBuild) {
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		res, err := x.build(ctx, e.project)
		if engineGone(err) && ctx.Err() == nil {
			send(ctx, x.async, inEngine{lost: true, err: err})
		}
		select {
		case x.async <- inBuilt{res: res, err: err, project: e.project, reason: e.reason, seq: e.seq}:
		case <-ctx.Done(): // the session ended: nobody waits for it
		}
	}()
}

func (x *executor) build(ctx context.Context, p *dockerfile.Project) (*BuildResult, error) {
	repo := ImageRepo(p.Dir)
	var exporting func()
	sending := time.Now()
	x.emit(event.Event{Kind: event.Phase, Message: "sending the build context", State: event.StepRunning})
	res, err := x.eng.Build(ctx, BuildOptions{
		Project: p, Tags: []string{repo + ":latest"}, BuildArgs: x.o.BuildArgs, Target: x.o.Target,
		Builder: x.o.Builder, Context: x.o.ContextVia, CacheFrom: x.o.CacheFrom,
		Say:      func(msg string) { x.emit(event.Event{Kind: event.Info, Message: msg}) },
		Labels:   map[string]string{LabelProject: ProjectID(p.Dir)},
		Progress: func(sp StepProgress) { x.emit(sp.Event(p.Model.Name)) },
		Pull:     func(pp PullProgress) { x.emit(pp.Event()) },
		Sent: func(n int64) {
			x.emit(event.Event{Kind: event.Phase, Message: "sending the build context", State: event.StepDone, Duration: time.Since(sending), Bytes: n})
		},
		Exporting: func(started bool) {
			switch {
			case started && exporting == nil:
				exporting = x.phase("exporting the image (the Engine writes its layers)")
			case !started && exporting != nil:
				exporting()
			}
		},
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

// start creates and starts a container of the built image, then brings its
// files up to date: "ready" means up to date.
func (x *executor) start(ctx context.Context, p *dockerfile.Project, built *BuildResult) []input {
	defer x.phase("creating and starting the container")()
	c, err := x.create(ctx, p, built, x.runOptions(p.Dir, built.ImageID))
	if err != nil {
		return []input{inStarted{err: err}}
	}
	if err := x.startCreated(ctx, p, c); err != nil {
		return []input{inStarted{err: x.dropNext(ctx, c, err)}}
	}
	return []input{inStarted{c: c, how: "new"}}
}

// startCreated starts a container create made. When its port was taken
// the Engine recreates it on a free one, under a new ID: its ledger moves
// with it, and the kept files go in again.
func (x *executor) startCreated(ctx context.Context, p *dockerfile.Project, c *Container) error {
	id := c.ID
	if err := x.eng.Start(ctx, c); err != nil {
		return err
	}
	if c.ID != id {
		x.ledgers[c.ID] = x.ledgers[id]
		delete(x.ledgers, id)
		if err := x.eng.Prepare(ctx, c.ID, p.Dir, x.ledgerOf(c.ID)); err != nil {
			return err
		}
	}
	x.turnOnAutoreload(ctx, p, c, false) // before any kernel starts
	return nil
}

// create makes a container of the built image, with its ledger seeded from
// the build (its files are the build's) and the kept files put back in.
func (x *executor) create(ctx context.Context, p *dockerfile.Project, built *BuildResult, o RunOptions) (*Container, error) {
	c, err := x.eng.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	l := NewLedger()
	built.SeedLedger(l, p.Rules)
	if err := x.eng.Prepare(ctx, c.ID, p.Dir, l); err != nil {
		return nil, x.dropNext(ctx, c, err)
	}
	x.ledgers[c.ID] = l
	return c, nil
}

func (x *executor) reattach(ctx context.Context, e effReattach) []input {
	end := countedPhase(x.emit, "reattaching: bringing home what changed in the container while tfdev was away")
	if _, ok := x.ledgers[e.c.ID]; !ok {
		// No record of what this container and the host agreed on: the
		// build's files are the best guess (an edit made on both sides
		// while tfdev was away then looks like the host's alone).
		e.built.SeedLedger(x.ledgerOf(e.c.ID), e.project.Rules)
	}
	rescued, err := x.eng.Rescue(ctx, e.c, e.project.Dir, e.project.Rules, x.ledgerOf(e.c.ID))
	end(rescued)
	x.turnOnAutoreload(ctx, e.project, e.c, true)
	out := []input{inStarted{c: e.c, how: "reattached", rescued: rescued}}
	if err != nil {
		out = append(out, inFailed{err})
	}
	return out
}

func (x *executor) restart(ctx context.Context, c *Container, how string) []input {
	if err := x.eng.Resume(ctx, c); err != nil {
		return []input{inStarted{err: err}}
	}
	return []input{inStarted{c: c, how: how}}
}

// recover looks at the container after the Engine came back: a running one
// is reconciled, a stopped one restarted, a vanished one replaced by a new
// container of the last build.
func (x *executor) recover(ctx context.Context, e effRecover) []input {
	c, err := x.eng.Inspect(ctx, e.c.ID)
	switch {
	case err != nil && e.built != nil:
		return x.start(ctx, e.project, e.built)
	case err != nil:
		return []input{inFailed{fmt.Errorf("the container is gone and no image is built yet: %w", err)}}
	case !c.Running:
		return x.restart(ctx, c, "restarted after the Engine came back")
	}
	return []input{inRecovered{c: c}}
}

// shutdown brings home what the user made in the container while it still
// runs (one round trip to its watcher, one tar stream), then stops it and
// records the ledger for the next run.
func (x *executor) shutdown(e effShutdown) []input {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	end := countedPhase(x.emit, "bringing your files home from the container")
	rescued, err := x.finalPull(ctx, e.project, e.c)
	end(rescued)
	x.unwatch(e.c.ID)
	done := x.phase("stopping the container")
	stopErr := x.eng.Stop(ctx, e.c.ID)
	done()
	save := SaveLedger
	if err == nil && stopErr == nil {
		save = func(dir, _ string, l *Ledger) error { return saveFinalLedger(dir, e.c, l) }
	}
	saveErr := save(e.project.Dir, e.c.ID, x.ledgerOf(e.c.ID))
	if stopErr == nil {
		stopErr = x.dropNextContainers(ctx, e.project.Dir, e.c.ID)
	}
	return []input{inStopped{c: e.c, rescued: rescued, err: errors.Join(err, stopErr, saveErr)}}
}

// keep records the ledger of a container left running (--keep), so that
// the next run knows what it and the host agree on.
func (x *executor) keep(e effKeep) []input {
	x.unwatch(e.c.ID)
	if err := SaveLedger(e.project.Dir, e.c.ID, x.ledgerOf(e.c.ID)); err != nil {
		return []input{inFailed{fmt.Errorf("recording what the container holds: %w", err)}}
	}
	return nil
}

// dropNextContainers removes replacement containers ("-next") of the
// project that a stop in the middle of a replacement may have left.
func (x *executor) dropNextContainers(ctx context.Context, dir, keep string) error {
	ids, err := x.eng.ProjectContainers(ctx, dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if id == keep {
			continue
		}
		if c, err := x.eng.Inspect(ctx, id); err == nil && strings.HasSuffix(c.Name, "-next") {
			errs = append(errs, x.eng.Remove(ctx, id))
		}
	}
	return errors.Join(errs...)
}

// reconnect waits, in the background, until the Engine answers again and
// then says so to the loop; one wait at a time.
func (x *executor) reconnect(ctx context.Context) {
	if !x.reconnecting.CompareAndSwap(false, true) {
		return
	}
	x.builds.Add(1)
	go func() {
		defer x.builds.Done()
		defer x.reconnecting.Store(false)
		if waitForEngine(ctx, x.eng, x.waiting) {
			send(ctx, x.async, inEngine{lost: false})
		}
	}()
}

// waiting tells the user, now and then, that tfdev still waits for the
// Engine.
func (x *executor) waiting(d time.Duration) {
	x.emit(event.Event{Kind: event.Info, Message: fmt.Sprintf("the Engine at %s still does not answer (for %v); tfdev keeps trying", x.eng.Addr(), d.Round(time.Second))})
}

// phase tells the user what tfdev does now, and returns the function that
// says it is done: no wait goes by without a word.
func (x *executor) phase(what string) func() { return phase(x.emit, what) }

// A phase's end is said when it took a second or more: the rest is noise.
const phaseWorthSaying = time.Second

func phase(emit func(event.Event), what string) func() {
	end := countedPhase(emit, what)
	return func() { end(nil) }
}

// countedPhase is a phase that brings files home: its end says how many
// and how large, whatever it took.
func countedPhase(emit func(event.Event), what string) func([]Rescued) {
	start := time.Now()
	emit(event.Event{Kind: event.Phase, Message: what, State: event.StepRunning})
	return func(rs []Rescued) {
		d := time.Since(start)
		if d < phaseWorthSaying && len(rs) == 0 {
			return
		}
		e := event.Event{Kind: event.Phase, Message: what, State: event.StepDone, Duration: d, Files: len(rs)}
		for _, r := range rs {
			e.Bytes += r.Bytes
		}
		emit(e)
	}
}

// writeState records the build, the container and its ledger for tfdev
// status and the next run.
func (x *executor) writeState(e effWriteState) []input {
	err := writeState(e.project.Dir, e.built, e.c, e.url, e.live, x.o.ConfiguredBy)
	if err == nil {
		err = SaveLedger(e.project.Dir, e.c.ID, x.ledgerOf(e.c.ID))
	}
	if err != nil {
		return []input{inFailed{fmt.Errorf("recording the session for tfdev status: %w", err)}}
	}
	return nil
}
