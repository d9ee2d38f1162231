package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
)

// shutdownTimeout bounds the stop and rescue at exit, which run on their
// own context: the session's is already cancelled.
const shutdownTimeout = 60 * time.Second

// executor carries out the reducer's effects against the Engine, each as
// one job (job, below: the one place that says how each effect runs).
type executor struct {
	eng   ports
	o     SessionOptions
	gpu   model.GPUSupport
	emit  func(event.Event)
	async chan<- loop.Input
	// tasks is the work beside the loop, each task named for what it is.
	tasks background
	// book holds each container's ledger and watch.
	book *containerBook
	// unpulled holds, per container, what its watch reported and the loop
	// has not brought home yet: a stop brings these home too.
	unpulledMu sync.Mutex
	unpulled   map[string]map[string]string
	// reconnecting: a wait for the Engine is under way.
	reconnecting atomic.Bool
	// door is the front door users come in through; nil: none (tests).
	door *frontdoor.FrontDoor
}

func newExecutor(eng ports, o SessionOptions, gpu model.GPUSupport, emit func(event.Event), async chan<- loop.Input) *executor {
	return &executor{eng: eng, o: o, gpu: gpu, emit: emit, async: async, book: newContainerBook(), unpulled: map[string]map[string]string{}}
}

// ledgerOf is the container's ledger, empty for a container tfdev knows
// nothing of.
func (x *executor) ledgerOf(id string) *model.Ledger { return x.book.ledger(id) }

// Where an effect runs. Inline: the loop waits for it and the reducer
// sees its inputs next, in order (emits, syncs, starts, state). Beside: a
// background task, named for what it is, whose inputs come back through
// async while the loop goes on taking batches, deaths, requests and the
// Engine's events: every effect that waits on something slow (a build, a
// comparison, Jupyter, pip, a replacement, the Engine) runs beside.
type placement int

const (
	inline placement = iota
	beside
)

type job struct {
	where placement
	task  string // what the work is, as the background list names it
	run   func(ctx context.Context) []loop.Input
}

func now(run func(ctx context.Context) []loop.Input) job { return job{where: inline, run: run} }

func aside(task string, run func(ctx context.Context) []loop.Input) job {
	return job{where: beside, task: task, run: run}
}

// bigSync is the size of a sync the screen says while it runs.
const bigSync = 500

// thousands writes n with thousands separators: 7,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// job says how each effect runs, and what running it is.
func (x *executor) job(e loop.Effect) job {
	switch e := e.(type) {
	case loop.Emit:
		return now(func(context.Context) []loop.Input { x.emit(e.Event); return nil })
	case loop.Build:
		return aside("build", func(ctx context.Context) []loop.Input {
			res, err := x.build(ctx, e.Project)
			out := loop.Built{Res: res, Err: err, Project: e.Project, Reason: e.Reason, Seq: e.Seq}
			if err == nil && e.Against != "" && e.Against != res.ImageID {
				// Not knowing only costs a replacement, as before.
				out.SyncCovers, _ = x.eng.SyncCovers(ctx, e.Against, res.ImageID, e.Tail)
			}
			return []loop.Input{out}
		})
	case loop.Sync:
		return now(func(ctx context.Context) []loop.Input {
			if len(e.Items) >= bigSync {
				// A branch switch, a git pull: the wait is seen, with its size.
				defer failablePhase(x.emit, "syncing "+thousands(len(e.Items))+" changes")(nil)
			}
			res, err := x.eng.Sync(ctx, e.C.ID, e.Project.Dir, e.Items, x.ledgerOf(e.C.ID))
			if err == nil && len(e.Files) > 0 {
				// Before "synced" is said: the next cell reloads them even
				// if it comes before tfdev's message to the kernel. When it
				// cannot be written, the message alone carries the news.
				_ = x.eng.Signal(ctx, e.C.ID, x.book.changedNow(e.C.ID, e.Files))
			}
			return []loop.Input{loop.Synced{Res: res, Err: err, Paths: e.Paths, Line: e.Line, Why: e.Why, Modules: e.Modules, Restart: e.Restart, Files: e.Files}}
		})
	case loop.Reload:
		return aside("tell the kernels what changed", func(ctx context.Context) []loop.Input {
			// Each kernel's answer comes as it comes: a kernel busy with a
			// long cell holds back no other's.
			err := x.eng.ReloadKernels(ctx, e.C, x.book.changedIn(e.C.ID), func(r model.KernelReload) {
				r.Kernel = x.shownKernel(r.Kernel)
				send(ctx, x.async, loop.KernelReloaded{C: e.C, KernelReload: r})
			})
			if err != nil {
				return []loop.Input{loop.KernelReloaded{C: e.C, KernelReload: model.KernelReload{Err: fmt.Errorf("listing the kernels: %w", err)}}}
			}
			return nil
		})
	case loop.Reconcile:
		return aside("compare the project with the container", func(ctx context.Context) []loop.Input { return x.compare(ctx, e) })
	case loop.Pull:
		return now(func(ctx context.Context) []loop.Input {
			rescued, err := x.eng.PullHome(ctx, e.C.ID, e.Project.Dir, e.Project.Rules, e.Sums, x.ledgerOf(e.C.ID), x.pullProgress)
			if err == nil {
				x.pulled(e.C.ID, e.Sums)
			}
			return []loop.Input{loop.Pulled{Rescued: rescued, Err: err}}
		})
	case loop.Start:
		return now(func(ctx context.Context) []loop.Input { return x.start(ctx, e.Project, e.Built) })
	case loop.Reattach:
		return now(func(ctx context.Context) []loop.Input { return x.reattach(ctx, e) })
	case loop.Replace:
		return aside("replace the container", func(ctx context.Context) []loop.Input { return x.replace(ctx, e) })
	case loop.Restart:
		return now(func(ctx context.Context) []loop.Input { return x.restart(ctx, e.C, e.How) })
	case loop.Recover:
		return now(func(ctx context.Context) []loop.Input { return x.recover(ctx, e) })
	case loop.WaitReady:
		return aside("wait for Jupyter", func(ctx context.Context) []loop.Input { return x.waitReady(ctx, e) })
	case loop.Serve:
		return now(func(ctx context.Context) []loop.Input { return x.serve(ctx, e) })
	case loop.Replay:
		return aside("install live", func(ctx context.Context) []loop.Input {
			return []loop.Input{x.replay(ctx, e, x.ledgerOf(e.C.ID))}
		})
	case loop.WriteState:
		return now(func(context.Context) []loop.Input { return x.writeState(e) })
	case loop.PruneImages:
		return now(func(ctx context.Context) []loop.Input { return x.prune(ctx, e) })
	case loop.RunLifecycle:
		return aside("run the dev container's lifecycle commands", func(ctx context.Context) []loop.Input {
			return []loop.Input{loop.LifecycleRan{C: e.C, Err: x.lifecycle(ctx, e)}}
		})
	case loop.WriteConflicts:
		return now(func(context.Context) []loop.Input {
			if err := statefile.WriteConflicts(e.Project.Dir, e.Conflicts); err != nil {
				return []loop.Input{loop.Failed{Err: fmt.Errorf("recording the conflicts for tfdev status: %w", err)}}
			}
			return nil
		})
	case loop.Shutdown:
		return now(func(context.Context) []loop.Input { return x.shutdown(e) })
	case loop.Keep:
		return now(func(context.Context) []loop.Input { return x.keep(e) })
	case loop.Reconnect:
		return aside("wait for the Engine", x.reconnect)
	}
	panic(fmt.Sprintf("executor: unknown effect %T", e))
}

// Apply carries out one effect: an inline one now, returning what it
// learned as inputs; one beside the loop as a background task whose inputs
// come back through async.
func (x *executor) Apply(ctx context.Context, e loop.Effect) []loop.Input {
	j := x.job(e)
	if j.where == inline {
		return x.lostFirst(ctx, j.run(ctx))
	}
	x.tasks.Go(j.task, func() {
		for _, in := range x.lostFirst(ctx, j.run(ctx)) {
			if !send(ctx, x.async, in) {
				return // the session ended: nobody waits for it
			}
		}
	})
	return nil
}

// do runs an effect's job where the caller stands, wherever it runs in the
// session: the executor's tests.
func (x *executor) do(ctx context.Context, e loop.Effect) []loop.Input {
	return x.lostFirst(ctx, x.job(e).run(ctx))
}

// lostFirst: a result that failed because the Engine cannot be reached
// comes after an EngineState{Lost}: the loop then knows why. Unless the
// Engine answers again by now, on a fresh connection: the failure belongs
// to an outage that is over, and a second "lost" would be a false one.
func (x *executor) lostFirst(ctx context.Context, ins []loop.Input) []loop.Input {
	for _, in := range ins {
		if err := failure(in); engine.EngineGone(err) && ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, engine.ConnectTimeout)
			back := x.eng.Ping(pctx) == nil
			cancel()
			if back {
				return ins
			}
			return append([]loop.Input{loop.EngineState{Lost: true, Err: err}}, ins...)
		}
	}
	return ins
}

// wait ends the container watches and waits for the work beside the loop:
// none outlives the session.
func (x *executor) wait() {
	for _, id := range x.book.watched() {
		x.unwatch(id)
	}
	x.tasks.Wait()
}

func (x *executor) build(ctx context.Context, p *dockerfile.Project) (*model.BuildResult, error) {
	repo := model.ImageRepo(p.Dir)
	var exporting func()
	sending := time.Now()
	x.emit(event.Event{Kind: event.Phase, Message: "sending the build context", State: event.StepRunning})
	res, err := x.eng.Build(ctx, model.BuildOptions{
		Project: p, Tags: []string{repo + ":latest"}, BuildArgs: x.o.BuildArgs, Target: x.o.Target,
		Builder: x.o.Builder, Context: x.o.ContextVia, CacheFrom: x.o.CacheFrom,
		Say:      func(msg string) { x.emit(event.Event{Kind: event.Info, Message: msg}) },
		Labels:   map[string]string{model.LabelProject: model.ProjectID(p.Dir)},
		Progress: func(sp model.StepProgress) { x.emit(sp.Event(p.Model.Name)) },
		Pull:     func(pp model.PullProgress) { x.emit(pp.Event()) },
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
func (x *executor) start(ctx context.Context, p *dockerfile.Project, built *model.BuildResult) []loop.Input {
	defer x.phase("creating and starting the container")()
	c, err := x.create(ctx, p, built, x.runOptions(p.Dir, built.ImageID))
	if err != nil {
		return []loop.Input{loop.Started{Err: err}}
	}
	if err := x.startCreated(ctx, p, c); err != nil {
		return []loop.Input{loop.Started{Err: x.dropNext(ctx, c, err)}}
	}
	return []loop.Input{loop.Started{C: c, How: "new"}}
}

// startCreated starts a container create made. When its port was taken
// the Engine recreates it on a free one, under a new ID: its ledger moves
// with it, and the kept files go in again.
func (x *executor) startCreated(ctx context.Context, p *dockerfile.Project, c *model.Container) error {
	id := c.ID
	if err := x.eng.Start(ctx, c); err != nil {
		return err
	}
	if c.ID != id {
		x.book.moveLedger(id, c.ID)
		if err := x.eng.Prepare(ctx, c.ID, p.Dir, x.ledgerOf(c.ID)); err != nil {
			return err
		}
	}
	x.turnOnAutoreload(ctx, p, c, false) // before any kernel starts
	return nil
}

// create makes a container of the built image, with its ledger seeded from
// the build (its files are the build's) and the kept files put back in.
func (x *executor) create(ctx context.Context, p *dockerfile.Project, built *model.BuildResult, o model.RunOptions) (*model.Container, error) {
	if err := x.jupyterCommand(ctx, p, &o); err != nil {
		return nil, err
	}
	created := time.Now().Add(-time.Second) // the Engine's clock may run behind; a second of margin
	c, err := x.eng.Create(ctx, o)
	if err != nil {
		return nil, err
	}
	l := model.NewLedger()
	built.SeedLedger(l, p.Rules)
	l.SeededAt(created)
	if err := x.eng.Prepare(ctx, c.ID, p.Dir, l); err != nil {
		return nil, x.dropNext(ctx, c, err)
	}
	x.book.setLedger(c.ID, l)
	return c, nil
}

func (x *executor) reattach(ctx context.Context, e loop.Reattach) []loop.Input {
	end := countedPhase(x.emit, "reattaching: bringing home what changed in the container while tfdev was away")
	if !x.book.hasLedger(e.C.ID) {
		// No record of what this container and the host agreed on: the
		// build's files are the best guess (an edit made on both sides
		// while tfdev was away then looks like the host's alone).
		e.Built.SeedLedger(x.ledgerOf(e.C.ID), e.Project.Rules)
	}
	rescued, err := x.eng.Rescue(ctx, e.C, e.Project.Dir, e.Project.Rules, x.ledgerOf(e.C.ID))
	end(rescued)
	x.turnOnAutoreload(ctx, e.Project, e.C, true)
	out := []loop.Input{loop.Started{C: e.C, How: "reattached", Rescued: rescued}}
	if err != nil {
		out = append(out, loop.Failed{Err: err})
	}
	return out
}

func (x *executor) restart(ctx context.Context, c *model.Container, how string) []loop.Input {
	if err := x.eng.Resume(ctx, c); err != nil {
		return []loop.Input{loop.Started{Err: err}}
	}
	return []loop.Input{loop.Started{C: c, How: how}}
}

// recover looks at the container after the Engine came back: a running one
// is reconciled, a stopped one restarted, a vanished one replaced by a new
// container of the last build.
func (x *executor) recover(ctx context.Context, e loop.Recover) []loop.Input {
	c, err := x.eng.Inspect(ctx, e.C.ID)
	switch {
	case err != nil && e.Built != nil:
		return x.start(ctx, e.Project, e.Built)
	case err != nil:
		return []loop.Input{loop.Failed{Err: fmt.Errorf("the container is gone and no image is built yet: %w", err)}}
	case !c.Running:
		return x.restart(ctx, c, "restarted after the Engine came back")
	}
	// The watch of what is written in the container ran through the
	// Engine's connection, and ended with it: a new one, so that what
	// the user saves in Jupyter from now on comes home again.
	return append(x.watch(ctx, e.Project, c), loop.Recovered{C: c})
}

// shutdown brings home what the user made in the container while it still
// runs (one round trip to its watcher, one tar stream), then stops it and
// records the ledger for the next run.
func (x *executor) shutdown(e loop.Shutdown) []loop.Input {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	end := countedPhase(x.emit, "bringing your files home from the container")
	rescued, err := x.finalPull(ctx, e.Project, e.C)
	end(rescued)
	x.unwatch(e.C.ID)
	done := x.phase("stopping the container")
	stopErr := x.eng.Stop(ctx, e.C.ID)
	done()
	save := statefile.SaveLedger
	if err == nil && stopErr == nil {
		save = func(dir, _ string, l *model.Ledger) error { return statefile.SaveFinalLedger(dir, e.C, l) }
	}
	saveErr := save(e.Project.Dir, e.C.ID, x.ledgerOf(e.C.ID))
	if stopErr == nil {
		stopErr = x.dropNextContainers(ctx, e.Project.Dir, e.C.ID)
	}
	return []loop.Input{loop.Stopped{C: e.C, Rescued: rescued, Err: errors.Join(err, stopErr, saveErr)}}
}

// keep records the ledger of a container left running (--keep), so that
// the next run knows what it and the host agree on.
func (x *executor) keep(e loop.Keep) []loop.Input {
	x.unwatch(e.C.ID)
	if err := statefile.SaveLedger(e.Project.Dir, e.C.ID, x.ledgerOf(e.C.ID)); err != nil {
		return []loop.Input{loop.Failed{Err: fmt.Errorf("recording what the container holds: %w", err)}}
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

// reconnect waits until the Engine answers again and then says so to the
// loop; one wait at a time.
func (x *executor) reconnect(ctx context.Context) []loop.Input {
	if !x.reconnecting.CompareAndSwap(false, true) {
		return nil
	}
	defer x.reconnecting.Store(false)
	if waitForEngine(ctx, x.eng, x.waiting) {
		return []loop.Input{loop.EngineState{Lost: false}}
	}
	return nil
}

// waiting tells the user, now and then, that tfdev still waits for the
// Engine.
func (x *executor) waiting(d time.Duration) {
	x.emit(event.Event{Kind: event.Info, Message: fmt.Sprintf("the Engine at %s still does not answer (for %v); tfdev keeps trying", x.eng.Addr(), d.Round(time.Second))})
}

// phase tells the user what tfdev does now, and returns the function that
// says it is done: no wait goes by without a word, and every phase that
// starts ends (plain output leaves out the end of a quick one).
func (x *executor) phase(what string) func() { return phase(x.emit, what) }

func phase(emit func(event.Event), what string) func() {
	end := beginPhase(emit, what)
	return func() { end(nil, nil) }
}

// failablePhase is a phase whose end says whether the work failed.
func failablePhase(emit func(event.Event), what string) func(error) {
	end := beginPhase(emit, what)
	return func(err error) { end(nil, err) }
}

// countedPhase is a phase that brings files home: its end says how many
// and how large.
func countedPhase(emit func(event.Event), what string) func([]model.Rescued) {
	end := beginPhase(emit, what)
	return func(rs []model.Rescued) { end(rs, nil) }
}

// beginPhase says a phase started and returns what says it ended: with
// the files it brought home, or failed.
func beginPhase(emit func(event.Event), what string) func([]model.Rescued, error) {
	start := time.Now()
	emit(event.Event{Kind: event.Phase, Message: what, State: event.StepRunning})
	return func(rs []model.Rescued, err error) {
		e := event.Event{Kind: event.Phase, Message: what, State: event.StepDone, Duration: time.Since(start), Files: len(rs)}
		for _, r := range rs {
			e.Bytes += r.Bytes
		}
		if err != nil {
			e.State, e.Reason = event.StepFailed, err.Error()
		}
		emit(e)
	}
}

// writeState records the build, the container and its ledger for tfdev
// status and the next run.
func (x *executor) writeState(e loop.WriteState) []loop.Input {
	err := statefile.WriteState(e.Project.Dir, e.Built, e.C, e.URL, e.Live, e.Via, x.o.ConfiguredBy)
	if err == nil {
		err = statefile.SaveLedger(e.Project.Dir, e.C.ID, x.ledgerOf(e.C.ID))
	}
	if err != nil {
		return []loop.Input{loop.Failed{Err: fmt.Errorf("recording the session for tfdev status: %w", err)}}
	}
	return nil
}

// failure is the error an effect's result input carries, if any.
func failure(in loop.Input) error {
	switch in := in.(type) {
	case loop.Built:
		return in.Err
	case loop.Synced:
		return in.Err
	case loop.Started:
		return in.Err
	case loop.Reconciled:
		return in.Err
	case loop.Health:
		return in.Err
	case loop.Pulled:
		return in.Err
	case loop.Failed:
		return in.Err
	}
	return nil
}
