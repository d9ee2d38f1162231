package loop

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The reducer's tests: sequences of inputs, and what the loop decides.
// No Engine, no clock, no goroutine.

const loopDockerfile = enginetest.LoopDockerfile

func testProject(t *testing.T, dockerfileText string) *dockerfile.Project {
	return enginetest.Project(t, dockerfileText)
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// loop feeds inputs to the reducer and keeps what it decided.
type loop struct {
	t   *testing.T
	s   State
	p   *dockerfile.Project
	out []Effect // the effects of the last input
}

func newLoop(t *testing.T, cfg Config) *loop {
	p := testProject(t, loopDockerfile)
	return &loop{t: t, s: NewState(cfg, p), p: p}
}

func (l *loop) feed(ins ...Input) *loop {
	for _, in := range ins {
		l.s, l.out = Reduce(l.s, in)
	}
	return l
}

func (l *loop) batch(paths ...string) Batch {
	var cs []watcher.Change
	for _, p := range paths {
		cs = append(cs, watcher.Change{Path: p})
	}
	return Batch{watcher.Batch{Changes: cs, Rules: l.p.Rules}}
}

// kinds lists the last effects: effect types, and the kinds of events.
func (l *loop) kinds() string {
	var ks []string
	for _, e := range l.out {
		if em, ok := e.(Emit); ok {
			ks = append(ks, string(em.Event.Kind))
			continue
		}
		ks = append(ks, strings.TrimPrefix(fmt.Sprintf("%T", e), "loop."))
	}
	return strings.Join(ks, " ")
}

func (l *loop) want(kinds string) *loop {
	l.t.Helper()
	if got := l.kinds(); got != kinds {
		l.t.Fatalf("effects:\n got %q\nwant %q", got, kinds)
	}
	return l
}

func (l *loop) event(kind event.Kind) event.Event {
	l.t.Helper()
	for _, e := range l.out {
		if em, ok := e.(Emit); ok && em.Event.Kind == kind {
			return em.Event
		}
	}
	l.t.Fatalf("no %s event in %s", kind, l.kinds())
	return event.Event{}
}

func built(id string) *model.BuildResult {
	return &model.BuildResult{ImageID: id, Builder: model.BuilderBuildKit}
}

func ctr(id, image string) *model.Container {
	return &model.Container{ID: id, Name: "tfdev-demo-" + id, Image: image, HostIP: "127.0.0.1", HostPort: 8888, Token: "tok"}
}

// startedLoop is a loop whose first build runs in container c1.
func startedLoop(t *testing.T) *loop {
	l := newLoop(t, Config{})
	l.feed(Adopted{}, Built{Res: built("img1"), Project: l.p})
	return l.feed(Started{C: ctr("c1", "img1"), How: "new"})
}

func TestReduceFirstStart(t *testing.T) {
	l := newLoop(t, Config{})
	l.feed(Adopted{}).want("build.start Build")
	l.feed(Built{Res: built("img1"), Project: l.p}).want("build.done Start")
	l.feed(Started{C: ctr("c1", "img1"), How: "new", Synced: model.SyncResult{Files: 2}}).
		want("Reconcile sync container.start jupyter.starting WaitReady WriteState PruneImages")
	if e := l.event(event.Container); e.Message != "new, http://127.0.0.1:8888/?token=tok" {
		t.Errorf("container.start says %q", e.Message)
	}
	// Jupyter answers: the door switches to it; "ready" waits for the
	// reconcile, which then sends what it found, and only then is said.
	l.feed(Health{C: ctr("c1", "img1"), URL: "http://127.0.0.1:8888/?token=tok"}).want("Serve")
	l.feed(Serving{C: ctr("c1", "img1"), URL: "http://127.0.0.1:8888/?token=tok"}).want("")
	push := []watcher.SyncItem{{Change: watcher.Change{Path: "train.py"}, Dest: "/app/train.py"}}
	l.feed(Reconciled{C: ctr("c1", "img1"), Work: model.ReconcileWork{Push: push}, Why: "new"}).want("Sync jupyter.ready")
	if e := l.out[0].(Sync); e.Why != "new" || len(e.Items) != 1 {
		t.Errorf("the reconcile's sync %+v", e)
	}
	// What the user writes in the container comes home, and is said.
	l.feed(ContainerChanged{C: ctr("c1", "img1"), Sums: map[string]string{"/tf/new.ipynb": "ab"}}).want("Pull")
	l.feed(Pulled{Rescued: []model.Rescued{{From: "/tf/new.ipynb", To: filepath.Join(l.p.Dir, ".tfdev/kept/tf/new.ipynb"), Kept: true}}}).want("rescue")
	if e := l.event(event.Rescue); !strings.Contains(e.Plain(), "kept /tf/new.ipynb -> .tfdev/kept/tf/new.ipynb") {
		t.Errorf("rescue event %q", e.Plain())
	}
	// Changes of a container that no longer serves are not pulled.
	l.feed(ContainerChanged{C: ctr("old", "img0"), Sums: map[string]string{"/tf/x": "cd"}}).want("")
}

// Through the front door, the container's URL is the door's.
func TestReduceURLIsTheFrontDoors(t *testing.T) {
	l := newLoop(t, Config{Door: "http://127.0.0.1:8888"})
	l.feed(Adopted{}, Built{Res: built("img1"), Project: l.p})
	c := ctr("c1", "img1")
	c.HostPort = 40001
	l.feed(Started{C: c, How: "new"})
	if e := l.event(event.Container); e.Message != "new, http://127.0.0.1:8888/?token=tok" {
		t.Errorf("container.start says %q", e.Message)
	}
}

func TestReduceReattachThenCurrentImage(t *testing.T) {
	l := newLoop(t, Config{})
	l.feed(Adopted{Running: ctr("c0", "img1")}).want("info build.start Build")
	l.feed(Built{Res: built("img1"), Project: l.p}).want("build.done Reattach")
	l.feed(Started{C: ctr("c0", "img1"), How: "reattached", Rescued: []model.Rescued{{From: "/tf/new.ipynb", To: filepath.Join(l.p.Dir, "new.ipynb")}}})
	if e := l.event(event.Rescue); e.To != "new.ipynb" {
		t.Errorf("rescue to %q, want the project-relative path", e.To)
	}
	// A rebuild to the same image changes nothing.
	l.feed(Requested{event.RequestRebuild}, Built{Res: built("img1"), Project: l.p}).
		want("build.done info WriteState")
}

func TestReduceSourceEditWhileBuilding(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt")).want("stale build.start Build")
	l.feed(l.batch("train.py")).want("Sync")
	sync := l.out[0].(Sync)
	if sync.C.ID != "c1" || len(sync.Paths) != 1 || sync.Paths[0] != "train.py" || sync.Line != 5 {
		t.Errorf("sync %+v", sync)
	}
	if len(l.s.pending) != 0 || !l.s.building {
		t.Errorf("a sync queued a build: pending %v", l.s.pending)
	}
	l.feed(Synced{Res: model.SyncResult{Files: 1, Bytes: 9, Duration: time.Millisecond}, Paths: sync.Paths, Line: sync.Line}).want("sync")
}

func TestReduceDependencyEditWhileBuildingCoalesces(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(Requested{event.RequestRebuild}).want("")
	if got := strings.Join(l.s.pending, "; "); got != "requirements.txt changed; requested" {
		t.Errorf("pending %q", got)
	}
	l.feed(Built{Res: built("img2"), Project: l.p}).
		want("build.done Replace")
	if !l.s.replacing {
		t.Fatal("not replacing")
	}
	l.feed(Started{C: ctr("c2", "img2"), How: "replaced c1", Old: ctr("c1", "img1")}).
		want("Reconcile container.start jupyter.starting WaitReady WriteState PruneImages build.start Build")
	if e := l.event(event.BuildStart); e.Reason != "requirements.txt changed, requested" {
		t.Errorf("follow-up build reason %q", e.Reason)
	}
}

func TestReduceDependencyEditDuringReplacement(t *testing.T) {
	l := startedLoop(t)
	l.feed(Requested{event.RequestRebuild}, Built{Res: built("img2"), Project: l.p})
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(l.batch("train.py")).want("Sync") // the old container still serves
	l.feed(Died{Death: model.Death{ID: "c1", Code: 0, At: t0}}).want("")
	l.feed(Started{C: ctr("c2", "img2"), How: "replaced c1", Old: ctr("c1", "img1")})
	if e := l.event(event.BuildStart); e.Reason != "requirements.txt changed" {
		t.Errorf("no follow-up build after the replacement: %s", l.kinds())
	}
	if l.s.cur.ID != "c2" || l.s.expected["c1"] != 0 {
		t.Errorf("cur %s, expected %v", l.s.cur.ID, l.s.expected)
	}
}

func TestReduceFailedReplacementKeepsTheOld(t *testing.T) {
	l := startedLoop(t)
	l.feed(Requested{event.RequestRebuild}, Built{Res: built("img2"), Project: l.p})
	old := ctr("c1", "img1")
	l.feed(Started{Old: old, Err: errors.New("the new container did not start; the old one keeps serving")}).want("error")
	if l.s.cur.ID != "c1" || l.s.replacing {
		t.Errorf("cur %+v replacing %v", l.s.cur, l.s.replacing)
	}
	// The old one was never stopped: tfdev expects no death of it, and one
	// that comes is a crash.
	if l.s.expected["c1"] != 0 {
		t.Errorf("expected deaths %v", l.s.expected)
	}
	l.feed(Died{Death: model.Death{ID: "c1", Code: 137, At: t0}}).want("container.exit Restart")
}

func TestReduceThreeDeathsInAMinute(t *testing.T) {
	l := startedLoop(t)
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0}, Logs: []string{"boom"}}).want("container.exit Restart")
	if e := l.event(event.ContainerEnd); *e.Code != 1 || e.Log[0] != "boom" {
		t.Errorf("exit event %+v", e)
	}
	l.feed(Started{C: ctr("c1", "img1"), How: "restarted after exit code 1"})
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0.Add(20 * time.Second)}}).want("container.exit Restart")
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0.Add(40 * time.Second)}}).want("container.exit error")
	if !l.s.halted {
		t.Fatal("not halted")
	}
	// A successful build lifts the halt, and the crashes count afresh: a
	// death soon after restarts the container.
	l.feed(Requested{event.RequestRebuild}, Built{Res: built("img1"), Project: l.p})
	if l.s.halted || len(l.s.deaths) != 0 {
		t.Errorf("after a build: halted %v, deaths %v", l.s.halted, l.s.deaths)
	}
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0.Add(45 * time.Second)}}).want("container.exit Restart")
}

func TestReduceDeathsOutsideTheWindowRestart(t *testing.T) {
	l := startedLoop(t)
	for i := range 5 {
		l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0.Add(time.Duration(i) * 45 * time.Second)}}).want("container.exit Restart")
	}
}

func TestReduceDeathOfAnotherContainerIsIgnored(t *testing.T) {
	startedLoop(t).feed(Died{Death: model.Death{ID: "someone-else", At: t0}}).want("")
}

func TestReduceQuitDuringABuild(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	l.feed(Quit{}).want("Shutdown")
	l.feed(Built{Err: context.Canceled, Project: l.p}).want("")
	l.feed(l.batch("train.py")).want("")
	l.feed(Died{Death: model.Death{ID: "c1", At: t0}}).want("")
	if l.s.Done {
		t.Fatal("done before the shutdown ended")
	}
	l.feed(Stopped{C: ctr("c1", "img1"), Rescued: []model.Rescued{{From: "/tf/a.ipynb", To: filepath.Join(l.p.Dir, "a.ipynb")}}}).want("rescue stop")
	if !l.s.Done {
		t.Fatal("not done")
	}
}

func TestReduceQuitWithKeepAndWithoutContainer(t *testing.T) {
	l := newLoop(t, Config{Keep: true})
	l.feed(Adopted{}, Quit{}).want("stop")
	if !l.s.Done || l.event(event.Stop).Message != "stopped" {
		t.Errorf("no container: %+v", l.out)
	}
	k := startedLoop(t)
	k.s.cfg.Keep = true
	k.feed(Quit{}).want("Keep stop")
	if !k.s.Done || !strings.Contains(k.event(event.Stop).Message, "keeps running (--keep)") {
		t.Errorf("keep: %+v", k.out)
	}
}

func TestReduceBuildFailureKeepsServing(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	err := &model.BuildError{File: "Dockerfile", Line: 4, Instruction: "RUN pip install -r /tmp/requirements.txt", ExitCode: 1, Log: []string{"no match"}}
	l.feed(Built{Err: err, Project: l.p}).want("build.failed")
	e := l.event(event.BuildFailed)
	if e.Line != 4 || !strings.HasSuffix(e.Message, "the old container is still serving") || e.Log[0] != "no match" {
		t.Errorf("build.failed %+v", e)
	}
	if l.s.cur.ID != "c1" || l.s.building {
		t.Errorf("state after a failed build: cur %v building %v", l.s.cur, l.s.building)
	}
	// Without a container, the message says what to do instead.
	n := newLoop(t, Config{})
	n.feed(Adopted{}, Built{Err: errors.New("boom"), Project: n.p})
	if m := n.event(event.BuildFailed).Message; m != "boom; fix it and save, or ask for a rebuild" {
		t.Errorf("message %q", m)
	}
}

func TestReduceReloads(t *testing.T) {
	l := startedLoop(t)
	bad := l.batch("Dockerfile")
	bad.Batch.ReloadErr = &dockerfile.SyntaxError{File: "Dockerfile", Line: 3, Msg: "unknown instruction: COPPY"}
	l.feed(bad).want("build.failed")
	if e := l.event(event.BuildFailed); e.Line != 3 || e.File != "Dockerfile" {
		t.Errorf("%+v", e)
	}
	// A bad .dockerignore pattern is reported at its own line.
	bad = l.batch(".dockerignore")
	bad.Batch.ReloadErr = &watcher.PatternError{File: ".dockerignore", Line: 14, Pattern: "[", Err: errors.New("syntax error in pattern")}
	l.feed(bad).want("build.failed")
	if e := l.event(event.BuildFailed); e.File != ".dockerignore" || e.Line != 14 || !strings.HasPrefix(e.Plain(), ".dockerignore:14:1: error: bad pattern") {
		t.Errorf("%+v: %s", e, e.Plain())
	}
	np := testProject(t, loopDockerfile+"ENV X=1\n")
	good := l.batch("Dockerfile")
	good.Batch.Reloaded, good.Batch.Loaded, good.Batch.Rules = true, np, np.Rules
	l.feed(good).want("plan stale build.start Build")
	if l.s.project != np || len(l.event(event.Plan).Steps) != 6 {
		t.Errorf("project not swapped: %d steps", len(l.event(event.Plan).Steps))
	}
}

func TestReduceRescanAndResync(t *testing.T) {
	l := startedLoop(t)
	b := l.batch()
	b.Batch.Rescan = []string{"the kernel's event queue overflowed"}
	l.feed(b).want("Reconcile")
	if r := l.out[0].(Reconcile); r.Why != "the kernel's event queue overflowed" || len(r.Built) != 0 {
		t.Errorf("reconcile %+v", r)
	}
	l.feed(Requested{event.RequestResync}).want("Reconcile")
	// An empty reconcile says nothing; a failed one says why it ran.
	l.feed(Synced{Why: "requested"}).want("")
	l.feed(Synced{Why: "requested", Err: errors.New("exec failed")}).want("error")
	if m := l.event(event.Error).Message; m != "reconciling files (requested): exec failed" {
		t.Errorf("%q", m)
	}
	l.feed(Synced{Why: "requested", Res: model.SyncResult{Files: 3}}).want("sync")
}

// A sync that sent nothing (the container already had it all) says
// nothing.
func TestReduceNoEmptySyncEvent(t *testing.T) {
	startedLoop(t).feed(Synced{Paths: []string{"train.py"}, Res: model.SyncResult{}}).want("")
}

func TestReduceSyncPathErrors(t *testing.T) {
	l := startedLoop(t)
	l.feed(Synced{Paths: []string{"a", "b"}, Res: model.SyncResult{Files: 1, Errors: []model.PathError{{Path: "b", Err: errors.New("a FIFO")}}}}).want("sync error")
}

func TestReduceHealth(t *testing.T) {
	l := startedLoop(t)
	ue := &model.UnreachableJupyterError{Logs: []string{"Traceback"}}
	l.feed(Health{C: ctr("c1", "img1"), Err: ue}).want("jupyter.unreachable")
	l.feed(Health{C: ctr("old", "img0"), URL: "x"}).want("")
	l.feed(Health{C: ctr("c1", "img1"), Err: context.Canceled}).want("")
	l.feed(Health{C: ctr("c1", "img1"), Err: errors.New("inspect failed")}).want("error")
}

func TestReduceEngineLostAndBack(t *testing.T) {
	l := startedLoop(t)
	l.s.cfg.Engine = "unix:///var/run/docker.sock"
	l.feed(EngineState{Lost: true, Err: errors.New("EOF")}).want("engine.lost Reconnect")
	if e := l.event(event.EngineLost); e.Engine != "unix:///var/run/docker.sock" || e.Message != "EOF" {
		t.Errorf("%+v", e)
	}
	l.feed(EngineState{Lost: true}).want("") // said once
	l.feed(l.batch("train.py")).want("")
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(Died{Death: model.Death{ID: "c1", Code: 137, At: t0}}).want("container.exit")
	l.feed(EngineState{Lost: false}).want("engine.back Recover build.start Build")
	if l.s.resync || len(l.s.pending) != 0 {
		t.Errorf("after recovery: resync %v pending %v", l.s.resync, l.s.pending)
	}
}

func TestReduceFailures(t *testing.T) {
	l := startedLoop(t)
	l.feed(Failed{errors.New("watch error: too many open files")}).want("error")
	l.feed(Failed{fmt.Errorf("building: %w", context.Canceled)}).want("")
}

// A build the Engine's loss broke is built again, once, when it is back; a
// sync it broke is left to the reconcile; a death replayed from before the
// container's latest start is not a crash.
func TestReduceEngineLossDuringWork(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	gone := errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	l.feed(EngineState{Lost: true, Err: gone}, Built{Err: gone, Project: l.p, Reason: "requirements.txt changed"}).want("")
	l.feed(Synced{Paths: []string{"train.py"}, Err: gone}).want("")
	if !l.s.resync || len(l.s.pending) != 1 {
		t.Fatalf("resync %v, pending %v", l.s.resync, l.s.pending)
	}
	l.feed(EngineState{Lost: false}).want("engine.back Recover build.start Build")
	if e := l.event(event.BuildStart); !strings.Contains(e.Reason, "again: the Engine went away") {
		t.Errorf("retry reason %q", e.Reason)
	}
	// Broken again: this time it is said.
	l.feed(EngineState{Lost: true, Err: gone}, Built{Err: gone, Project: l.p}).want("build.failed")
	l.feed(EngineState{Lost: false})

	c := ctr("c1", "img1")
	c.Started = t0.Add(time.Minute)
	l.feed(Started{C: c, How: "restarted after the Engine came back"})
	l.feed(Died{Death: model.Death{ID: "c1", Code: 137, At: t0.Add(30 * time.Second)}}).want("")
	l.feed(Died{Death: model.Death{ID: "c1", Code: 137, At: t0.Add(2 * time.Minute)}}).want("container.exit Restart")
}

// Jupyter that stops answering is "down" (said once), and "ready" again,
// at the same URL, only when it answers.
func TestReduceProbe(t *testing.T) {
	l := startedLoop(t)
	l.feed(Reconciled{C: ctr("c1", "img1")}, Health{C: ctr("c1", "img1"), URL: "http://127.0.0.1:8888/?token=tok"})
	l.feed(Serving{C: ctr("c1", "img1"), URL: "http://127.0.0.1:8888/?token=tok"}).want("jupyter.ready")
	l.feed(Probed{C: ctr("c1", "img1"), Err: errors.New("connection refused"), At: t0}).want("jupyter.down")
	l.feed(Probed{C: ctr("c1", "img1"), Err: errors.New("connection refused"), At: t0}).want("")
	l.feed(Probed{C: ctr("old", "img0"), At: t0}).want("")
	l.feed(Probed{C: ctr("c1", "img1"), At: t0.Add(time.Second)}).want("jupyter.ready")
	if e := l.event(event.Ready); e.URL != "http://127.0.0.1:8888/?token=tok" {
		t.Errorf("ready again at %q", e.URL)
	}
	l.feed(Probed{C: ctr("c1", "img1"), At: t0.Add(2 * time.Second)}).want("")
}

// A container that died takes no sync: the edits wait for the reconcile
// of its restart; one that was halted takes none until a build starts anew.
func TestReduceNoSyncIntoADeadContainer(t *testing.T) {
	l := startedLoop(t)
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0}}).want("container.exit Restart")
	l.feed(l.batch("train.py")).want("")
	if !l.s.resync {
		t.Error("the edit is not remembered")
	}
	l.feed(Started{C: ctr("c1", "img1"), How: "restarted after exit code 1"})
	l.feed(l.batch("train.py")).want("Sync")
}

// A reconcile runs beside the loop: an edit made while it compares is
// synced at once, not after it; what the comparison found is sent after,
// and brought home; a reconcile of a container that no longer serves is
// dropped; one the Engine's loss broke is done again when it is back.
func TestReduceReconcileDoesNotBlockEdits(t *testing.T) {
	l := startedLoop(t)
	if l.s.reconciles != 1 {
		t.Fatalf("%d reconciles under way after a start", l.s.reconciles)
	}
	l.feed(l.batch("train.py")).want("Sync")
	l.feed(Synced{Res: model.SyncResult{Files: 1}, Paths: []string{"train.py"}}).want("sync")
	work := model.ReconcileWork{
		Push: []watcher.SyncItem{{Change: watcher.Change{Path: "util.py"}, Dest: "/app/util.py"}},
		Pull: map[string]string{"/app/notes.md": "ab"},
	}
	l.feed(Reconciled{C: ctr("c1", "img1"), Work: work, Why: "new"}).want("Sync Pull")
	l.feed(Synced{Err: errors.New("boom"), Why: "new"}).want("error")
	if e := l.event(event.Error); !strings.Contains(e.Message, "reconciling files (new): boom") {
		t.Errorf("error %q", e.Message)
	}
	// Another container's comparison: nothing moves.
	l.feed(Reconciled{C: ctr("old", "img0"), Work: work}).want("")
	// The Engine went away during a comparison: done again once back.
	l.feed(Requested{event.RequestResync}).want("Reconcile")
	l.feed(EngineState{Lost: true, Err: errors.New("gone")}, Reconciled{C: ctr("c1", "img1"), Err: errors.New("gone"), Why: "requested"}).want("")
	if !l.s.resync || l.s.reconciles != 0 {
		t.Errorf("resync %v, %d reconciles", l.s.resync, l.s.reconciles)
	}
	l.feed(EngineState{Lost: false}).want("engine.back Recover")
	l.feed(Recovered{C: ctr("c1", "img1")}).want("Reconcile")
}

// After a prune, tfdev says how many older images went.
func TestReducePrunedSaysHowMany(t *testing.T) {
	l := startedLoop(t)
	l.feed(Pruned{Removed: 2}).want("info")
	if m := l.event(event.Info).Message; !strings.HasPrefix(m, "removed 2 older image(s) of the project") {
		t.Errorf("says %q", m)
	}
}

// A replacement runs beside the loop: an edit made while the new container
// starts is synced into the old one, which serves, and once the new one
// takes over, into it too.
func TestReduceEditDuringReplacementReachesBothContainers(t *testing.T) {
	l := startedLoop(t)
	l.feed(Requested{event.RequestRebuild}).feed(Built{Res: built("img2"), Project: l.p}).want("build.done Replace")
	l.feed(l.batch("train.py")).want("Sync")
	if s := l.out[0].(Sync); s.C.ID != "c1" || strings.Join(s.Paths, ",") != "train.py" {
		t.Fatalf("sync %+v", s)
	}
	l.feed(Synced{Res: model.SyncResult{Files: 1}, Paths: []string{"train.py"}}).want("sync")
	l.feed(Started{C: ctr("c2", "img2"), How: "replaced c1", Old: ctr("c1", "img1"), Reconciled: true})
	var into []string
	for _, e := range l.out {
		if s, ok := e.(Sync); ok {
			into = append(into, s.C.ID+":"+strings.Join(s.Paths, ","))
		}
	}
	if strings.Join(into, " ") != "c2:train.py" {
		t.Errorf("after the switch, syncs %v (effects %s)", into, l.kinds())
	}
	// The next replacement carries nothing from this one.
	if len(l.s.carried) != 0 || len(l.s.seen) != 0 {
		t.Errorf("carried %v, seen %v", l.s.carried, l.s.seen)
	}
}

// What the old container reports written during a replacement comes home
// with the replacement's catch-up; when the replacement fails, the loop
// brings it home from the old one, which serves on.
func TestReduceContainerWritesDuringReplacement(t *testing.T) {
	l := startedLoop(t)
	l.feed(Requested{event.RequestRebuild}).feed(Built{Res: built("img2"), Project: l.p})
	old := l.s.cur
	l.feed(ContainerChanged{C: old, Sums: map[string]string{"/tf/a.ipynb": "aa"}}).want("")
	l.feed(ContainerChanged{C: old, Sums: map[string]string{"/tf/b.ipynb": "bb"}}).want("")
	l.feed(Started{Old: old, Err: errors.New("the new container did not become ready; the old one keeps serving")}).want("error Pull")
	if p := l.out[1].(Pull); p.C.ID != "c1" || len(p.Sums) != 2 {
		t.Errorf("pull %+v", p)
	}
	// After a replacement that succeeds, nothing is pulled twice.
	l.feed(Requested{event.RequestRebuild}).feed(Built{Res: built("img3"), Project: l.p})
	l.feed(ContainerChanged{C: l.s.cur, Sums: map[string]string{"/tf/c.ipynb": "cc"}}).want("")
	l.feed(Started{C: ctr("c3", "img3"), How: "replaced c1", Old: l.s.cur, Reconciled: true})
	for _, e := range l.out {
		if _, ok := e.(Pull); ok {
			t.Errorf("pulled after a replacement: %s", l.kinds())
		}
	}
}

// The Engine's loss cuts a replacement short: the old container serves on,
// and once the Engine answers the replacement is made again, removing what
// the cut one left.
func TestReduceReplacementCutByTheEngine(t *testing.T) {
	l := startedLoop(t)
	l.feed(Requested{event.RequestRebuild}).feed(Built{Res: built("img2"), Project: l.p}).want("build.done Replace")
	l.feed(EngineState{Lost: true, Err: errors.New("unexpected EOF")}).want("engine.lost Reconnect")
	old := l.s.cur
	l.feed(Started{Old: old, Err: errors.New("the new container did not become ready; the old one keeps serving: EOF"), Cut: true}).want("info")
	if l.s.cur.ID != "c1" || l.s.replacing {
		t.Fatalf("cur %+v replacing %v", l.s.cur, l.s.replacing)
	}
	l.feed(EngineState{Lost: false}).want("engine.back Recover build.start Build")
	if e := l.event(event.BuildStart); e.Reason != "again: the Engine went away during the replacement" {
		t.Errorf("reason %q", e.Reason)
	}
	l.feed(Built{Res: built("img2"), Project: l.p}).want("build.done Replace")
	if r := l.out[1].(Replace); !r.Again || r.Old.ID != "c1" {
		t.Errorf("replace %+v", r)
	}
	l.feed(Started{C: ctr("c2", "img2"), How: "replaced c1", Old: old, Reconciled: true})
	l.feed(Requested{event.RequestReplace})
	for _, e := range l.out {
		if r, ok := e.(Replace); ok && r.Again {
			t.Errorf("a later replacement still removes leftovers: %+v", r)
		}
	}
}

// tfdev was away and a source file changed: the new image differs from
// the running container's only in what tfdev syncs. The container is kept
// with its kernels (a reattach, whose comparison syncs the file), and it
// matches the new image plus syncs; a difference a sync cannot cover
// replaces it, as before.
func TestReduceReattachKeepsWhatASyncCovers(t *testing.T) {
	l := newLoop(t, Config{})
	l.feed(Adopted{Running: ctr("c0", "img1")}).want("info build.start Build")
	if b := l.out[2].(Build); b.Against != "img1" || b.Tail != 1 {
		t.Fatalf("the first build does not ask about the running image: %+v", b)
	}
	l.feed(Built{Res: built("img2"), Project: l.p, SyncCovers: true}).want("build.done info Reattach")
	if !strings.Contains(l.event(event.Info).Message, "only in files tfdev syncs") {
		t.Errorf("says %q", l.event(event.Info).Message)
	}
	l.feed(Started{C: ctr("c0", "img1"), How: "reattached"})
	var ws WriteState
	for _, e := range l.out {
		if w, ok := e.(WriteState); ok {
			ws = w
		}
	}
	if ws.Built.ImageID != "img2" || ws.Live != "img2" || ws.Via != "syncs" {
		t.Errorf("state %+v", ws)
	}
	// A later build asks nothing: the container is known.
	l.feed(Requested{event.RequestRebuild})
	if b := l.out[1].(Build); b.Against != "" {
		t.Errorf("a later build asks again: %+v", b)
	}

	l = newLoop(t, Config{})
	l.feed(Adopted{Running: ctr("c0", "img1")})
	l.feed(Built{Res: built("img2"), Project: l.p}).want("build.done Replace")
}

// A dev container's lifecycle commands run once the container is ready
// (its files in step): all of them in a new container, postStart alone
// after a restart, none in a container reattached to.
func TestReduceLifecycleOnceReady(t *testing.T) {
	l := newLoop(t, Config{Lifecycle: true})
	l.feed(Adopted{}, Built{Res: built("img1"), Project: l.p})
	c := ctr("c1", "img1")
	l.feed(Started{C: c, How: "new"})
	l.feed(Health{C: c, URL: "u"}).want("Serve")
	l.feed(Serving{C: c, URL: "u"}).want("")
	l.feed(Reconciled{C: c, Why: "new"}).want("jupyter.ready RunLifecycle")
	if r := l.out[1].(RunLifecycle); !r.Created || r.C.ID != "c1" {
		t.Errorf("%+v", r)
	}
	l.feed(Died{Death: model.Death{ID: "c1", Code: 1, At: t0}})
	l.feed(Started{C: c, How: "restarted after exit code 1"}, Health{C: c, URL: "u"}, Serving{C: c, URL: "u"})
	l.feed(Reconciled{C: c, Why: "restarted"}).want("jupyter.ready RunLifecycle")
	if r := l.out[1].(RunLifecycle); r.Created {
		t.Errorf("a restart runs the create commands: %+v", r)
	}
	l.feed(LifecycleRan{C: c, Err: errors.New("postCreateCommand failed")}).want("error")

	l = newLoop(t, Config{Lifecycle: true})
	l.feed(Adopted{Running: ctr("c0", "img1")}, Built{Res: built("img1"), Project: l.p})
	l.feed(Started{C: ctr("c0", "img1"), How: "reattached"}, Health{C: ctr("c0", "img1"), URL: "u"}, Serving{C: ctr("c0", "img1"), URL: "u"})
	l.feed(Reconciled{C: ctr("c0", "img1"), Why: "reattached"}).want("jupyter.ready")
}
