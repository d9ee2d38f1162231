package loop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The session is a reducer: reduce takes the loop's state and one input
// (something that happened) and returns the new state and the effects to
// carry out. It does no I/O and reads no clock, so every decision of the
// loop is table-tested without an Engine (reducer_test.go); the executor
// (executor.go) carries the effects out and turns their results into
// inputs again.

// Crash handling: a container that dies is restarted, unless it died this
// many times within the window.
const (
	maxDeaths   = 3
	deathWindow = time.Minute
)

// loopConfig is what the reducer needs of the session's options.
type Config struct {
	Door   string // the front door's address ("http://127.0.0.1:8888"): the URL users open
	Keep   bool   // leave the container running at exit
	Engine string // the Engine's address, for messages
	// Deps: "live" installs a dependency change in the running container
	// when the Dockerfile allows, the image catching up behind; "rebuild"
	// always rebuilds and replaces.
	Deps string
	// ReplaceNow: at start, a container that matches the image only through
	// live installs is replaced by one made from it, not reattached.
	ReplaceNow bool
	// Autoreload: new kernels reload edited modules; syncs say which.
	Autoreload bool
	// Lifecycle: a dev container's commands run in each new container
	// (and at each start).
	Lifecycle bool
}

// url is where the user opens the container's Jupyter: through the front
// door when there is one.
func (c Config) url(ct *model.Container) string {
	if c.Door == "" {
		return ct.URL()
	}
	return c.Door + "/?token=" + ct.Token
}

// loopState is everything the loop decides from. Values only: a reducer
// step never changes the state it was given.
type State struct {
	cfg       Config
	project   *dockerfile.Project
	cur       *model.Container   // the container serving, nil before the first start
	built     *model.BuildResult // the last successful build
	prevImage string             // the image the last build superseded: kept, with the current one
	building  bool
	replacing bool
	// While a replacement runs beside the loop, edits are synced into the
	// container that serves; carried are synced into the new one once it
	// takes over. What the old one reports written comes home with the
	// replacement's catch-up; seen keeps it for when the replacement fails.
	carried []watcher.SyncItem
	seen    map[string]string
	// replaceAgain: the Engine's loss cut a replacement short; the next
	// one removes what it left.
	replaceAgain bool
	// lifecycle is the dev container's commands to run in cur once it is
	// ready.
	lifecycle *RunLifecycle
	// conflicts are the files changed on both sides whose two copies the
	// user has not merged yet: shown until a save on either side.
	conflicts []model.Conflict
	pending   []string       // reasons for a follow-up build
	deaths    []time.Time    // recent deaths of cur, for the crash limit
	halted    bool           // crashed too often: not restarted until the next build
	expected  map[string]int // deaths tfdev caused (its own stops), per container ID
	lost      bool           // the Engine does not answer
	resync    bool           // changes arrived while the Engine was lost
	retried   bool           // a build the Engine's loss broke was started again once
	url       string         // where the user opens Jupyter, once it answered
	down      bool           // Jupyter stopped answering the probe
	// reconciles counts the comparisons under way; "ready" waits for
	// them (heldReady), so that it means the files are in step too.
	reconciles int
	heldReady  bool
	builds     int     // builds started, numbering them
	live       liveRun // the live install of a dependency change
	matches    string  // the image cur's live installs or syncs make it match ("" none)
	matchVia   string  // how: "live installs" or "syncs"
	dead       bool    // cur died and does not run (yet) again
	quitting   bool
	Done       bool // the loop may end once its queue is empty
}

func NewState(cfg Config, p *dockerfile.Project) State {
	return State{cfg: cfg, project: p}
}

// The dependency policies (--deps).
const (
	DepsLive    = "live"
	DepsRebuild = "rebuild"
)

// reduce is the loop's one decision function.
func Reduce(s State, in Input) (State, []Effect) {
	s.expected = cloneCounts(s.expected)
	var fx effects
	switch in := in.(type) {
	case Adopted:
		s.onAdopted(in, &fx)
	case Batch:
		s.onBatch(in.Batch, &fx)
	case Built:
		s.onBuilt(in, &fx)
	case Synced:
		s.onSynced(in, &fx)
	case KernelReloaded:
		s.onKernelReloaded(in, &fx)
	case Started:
		s.onStarted(in, &fx)
	case Health:
		s.onHealth(in, &fx)
	case Serving:
		s.onServing(in, &fx)
	case Reconciled:
		s.onReconciled(in, &fx)
	case Replayed:
		s.onReplayed(in, &fx)
	case Recovered:
		if s.cur != nil && in.C.ID == s.cur.ID {
			s.reconcile("the Engine came back", &fx)
		}
	case Died:
		s.onDeath(in, &fx)
	case Requested:
		s.onRequest(in.Request, &fx)
	case EngineState:
		s.onEngine(in, &fx)
	case Failed:
		fx.fail(in.Err)
	case Quit:
		s.onQuit(&fx)
	case Stopped:
		s.onStopped(in, &fx)
	case LifecycleRan:
		if in.Err != nil && !s.lost && !s.quitting {
			fx.fail(in.Err)
		}
	case ContainerChanged:
		s.onContainerChanged(in, &fx)
	case Pruned:
		if in.Removed > 0 {
			fx.info("removed %d older image(s) of the project (tfdev keeps the current one and the one before; tfdev down --rmi removes them all)", in.Removed)
		}
	case Probed:
		s.onProbe(in, &fx)
	case Pulled:
		fx.rescued(in.Rescued, s.project.Dir)
		if in.Err != nil && !s.lost { // while lost, the files wait in the container
			fx.fail(in.Err)
		}
	}
	s.trackConflicts(&fx)
	return s, fx.list
}

// onContainerChanged brings home what was written in the container; during
// a replacement the replacement's catch-up does, and seen keeps it in case
// the replacement fails.
func (s *State) onContainerChanged(in ContainerChanged, fx *effects) {
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting || s.lost {
		return
	}
	if s.replacing {
		s.seen = maps.Clone(s.seen)
		if s.seen == nil {
			s.seen = map[string]string{}
		}
		maps.Copy(s.seen, in.Sums)
		return
	}
	fx.add(Pull{Project: s.project, C: s.cur, Sums: in.Sums})
}

func cloneCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *State) onAdopted(in Adopted, fx *effects) {
	fx.rescued(in.Rescued, s.project.Dir)
	for _, c := range in.Conflicts { // still unresolved: said again, and listed
		fx.emit(event.Event{Kind: event.Rescue, Conflict: true, File: c.File, To: c.Copy, From: c.From})
	}
	for _, err := range in.Errs {
		fx.fail(err)
	}
	if in.Running != nil {
		s.cur, s.matches = in.Running, in.Live
		if in.Live != "" {
			s.matchVia = cmp.Or(in.Via, "live installs")
		}
		fx.info("found running container %s (%s)", in.Running.Name, s.cfg.url(in.Running))
	}
	s.startBuild("start", fx)
}

// startBuild starts a build now, or queues its reason behind the build or
// replacement under way.
func (s *State) startBuild(reason string, fx *effects) {
	if s.building || s.replacing || s.lost {
		s.pending = append(s.pending, reason)
		return
	}
	s.building = true
	s.builds++
	fx.emit(event.Event{Kind: event.BuildStart, Reason: reason})
	b := Build{Reason: reason, Project: s.project, Seq: s.builds}
	if s.built == nil && s.cur != nil {
		// A container of an earlier run: the first build says whether a
		// sync alone brings it up to date.
		b.Against, b.Tail = s.cur.Image, dockerfile.SyncTail(s.project)
	}
	fx.add(b)
}

// startPending starts the build the pending reasons ask for, if any.
func (s *State) startPending(fx *effects) {
	if len(s.pending) == 0 || s.building || s.replacing || s.lost {
		return
	}
	reason := strings.Join(dedupe(s.pending), ", ")
	s.pending = nil
	s.startBuild(reason, fx)
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (s *State) onBatch(b watcher.Batch, fx *effects) {
	if s.quitting {
		return
	}
	if b.ReloadErr != nil {
		fx.emit(buildFailedEvent(b.ReloadErr, s.project.Model.Name, s.cur != nil))
		return
	}
	if p, ok := b.Loaded.(*dockerfile.Project); ok && b.Reloaded {
		s.project = p
		fx.emit(PlanEvent(p))
	}
	plan := watcher.Classify(b.Changes, b.Rules)
	if len(plan.Sync) > 0 && s.cur != nil {
		if s.lost || s.dead {
			// The reconcile when the Engine is back, or when the container
			// runs again, sends them: a stopped container takes no sync.
			s.resync = true
		} else {
			e := syncEffect(s.project, s.cur, plan.Sync)
			if s.cfg.Autoreload {
				roots := KernelPathRoots(s.project.Rules)
				e.Modules, e.Restart = ReloadNote(plan.Sync, roots)
				e.Files = ReloadFiles(plan.Sync, roots)
			}
			fx.add(e)
			if s.replacing {
				s.carried = append(s.carried, plan.Sync...)
			}
		}
	}
	if len(b.Rescan) > 0 {
		s.reconcile(strings.Join(b.Rescan, "; "), fx)
	}
	if plan.NeedsRebuild() {
		reason := s.stale(plan.Rebuild, fx)
		if s.replayLive(plan.Rebuild, fx) {
			reason += "; installed live in the running container, the image catches up"
		}
		s.startBuild(reason, fx)
	}
}

func syncEffect(p *dockerfile.Project, c *model.Container, items []watcher.SyncItem) Sync {
	e := Sync{Project: p, C: c, Items: items}
	for _, it := range items {
		e.Paths = append(e.Paths, it.Path)
		if it.Rule != nil && e.Line == 0 {
			e.Line = it.Rule.Line
		}
	}
	return e
}

// stale reports the first step a rebuild starts from and returns the
// build's reason.
func (s *State) stale(ds []watcher.Decision, fx *effects) string {
	var paths []string
	first := ds[0]
	for _, d := range ds {
		paths = append(paths, d.Path)
		if d.Line > 0 && (first.Line == 0 || d.Line < first.Line) {
			first = d
		}
	}
	sort.Strings(paths)
	name := s.project.Model.Name
	from := "the first step"
	if first.Rule != nil {
		from = fmt.Sprintf("%s:%d %s", name, first.Line, first.Rule.Step)
	}
	fx.emit(event.Event{Kind: event.Stale, Line: first.Line, File: name, Instruction: from, Paths: paths})
	return strings.Join(paths, ", ") + " changed"
}

// builtContext is the build context of the image the container runs, when
// known: what reconcile can take for granted is in it.
func (s *State) builtContext() []string {
	if s.current() {
		return s.built.Context
	}
	return nil
}

func (s *State) onRequest(r event.Request, fx *effects) {
	if s.quitting {
		return
	}
	switch r {
	case event.RequestRebuild:
		s.startBuild("requested", fx)
	case event.RequestResync:
		s.reconcile("requested", fx)
	case event.RequestReplace:
		s.replaceNow(fx)
	}
}

func (s *State) onSynced(in Synced, fx *effects) {
	if s.lost && in.Err != nil {
		s.resync = true // the Engine went away: the reconcile when it is back sends it
		return
	}
	if in.Err != nil {
		if in.Why != "" {
			in.Err = fmt.Errorf("reconciling files (%s): %w", in.Why, in.Err)
		}
		fx.fail(in.Err)
		return
	}
	if in.Res.Files+in.Res.Removed > 0 {
		e := syncEvent(in.Res, in.Paths, in.Line, s.cur)
		e.Modules, e.Restart = in.Modules, in.Restart
		fx.emit(e)
		if len(in.Files) > 0 && s.cfg.Autoreload && s.cur != nil && !s.lost && !s.dead {
			fx.add(Reload{C: s.cur, Files: in.Files})
		}
	}
	fx.synced(in.Res, s.project.Dir)
}

func syncEvent(res model.SyncResult, paths []string, line int, c *model.Container) event.Event {
	e := event.Event{Kind: event.Sync, Files: res.Files, Removed: res.Removed, Bytes: res.Bytes,
		Duration: res.Duration, Line: line, Paths: paths}
	if c != nil {
		e.Container = c.Name
	}
	return e
}

func (s *State) onQuit(fx *effects) {
	if s.quitting {
		return
	}
	s.quitting = true
	switch {
	case s.cur == nil:
		fx.emit(event.Event{Kind: event.Stop, Message: "stopped"})
		s.Done = true
	case s.cfg.Keep:
		fx.add(Keep{Project: s.project, C: s.cur})
		fx.emit(event.Event{Kind: event.Stop, Container: s.cur.Name, Message: "stopped watching; container " + s.cur.Name + " keeps running (--keep)"})
		s.Done = true
	default:
		s.expected[s.cur.ID]++
		fx.add(Shutdown{Project: s.project, C: s.cur})
	}
}

func (s *State) onStopped(in Stopped, fx *effects) {
	if in.Err != nil {
		fx.fail(in.Err)
	}
	fx.rescued(in.Rescued, s.project.Dir)
	fx.emit(event.Event{Kind: event.Stop, Container: in.C.Name, Message: "stopped container " + in.C.Name})
	s.Done = true
}

// effects collects a step's effects in order.
type effects struct{ list []Effect }

func (fx *effects) add(e Effect) { fx.list = append(fx.list, e) }

func (fx *effects) emit(e event.Event) { fx.add(Emit{e}) }

func (fx *effects) info(f string, a ...any) {
	fx.emit(event.Event{Kind: event.Info, Message: fmt.Sprintf(f, a...)})
}

// fail reports an error, unless it is the session's own shutdown.
func (fx *effects) fail(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	fx.emit(event.Event{Kind: event.Error, Message: err.Error()})
}

// synced reports what a sync or reconcile brought home, the conflicts it
// kept, and the paths it could not sync.
func (fx *effects) synced(res model.SyncResult, dir string) {
	fx.rescued(res.Pulled, dir)
	fx.rescued(res.Conflicts, dir)
	for _, pe := range res.Errors {
		fx.fail(pe)
	}
}

func (fx *effects) rescued(rs []model.Rescued, dir string) {
	for _, r := range rs {
		fx.emit(r.Event(dir))
	}
}
