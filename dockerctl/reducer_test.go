package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The reducer's tests: sequences of inputs, and what the loop decides.
// No Engine, no clock, no goroutine.

const loopDockerfile = "FROM tfdev-test/jupyter:bookworm\nWORKDIR /tf\nCOPY requirements.txt /tmp/requirements.txt\nRUN pip install -r /tmp/requirements.txt\nCOPY . /tf\n"

func testProject(t *testing.T, dockerfileText string) *dockerfile.Project {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": dockerfileText, "requirements.txt": "numpy==1.24.2\n", "train.py": "print(1)\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// loop feeds inputs to the reducer and keeps what it decided.
type loop struct {
	t   *testing.T
	s   loopState
	p   *dockerfile.Project
	out []effect // the effects of the last input
}

func newLoop(t *testing.T, cfg loopConfig) *loop {
	p := testProject(t, loopDockerfile)
	return &loop{t: t, s: newLoopState(cfg, p), p: p}
}

func (l *loop) feed(ins ...input) *loop {
	for _, in := range ins {
		l.s, l.out = reduce(l.s, in)
	}
	return l
}

func (l *loop) batch(paths ...string) inBatch {
	var cs []watcher.Change
	for _, p := range paths {
		cs = append(cs, watcher.Change{Path: p})
	}
	return inBatch{watcher.Batch{Changes: cs, Rules: l.p.Rules}}
}

// kinds lists the last effects: effect types, and the kinds of events.
func (l *loop) kinds() string {
	var ks []string
	for _, e := range l.out {
		if em, ok := e.(effEmit); ok {
			ks = append(ks, string(em.e.Kind))
			continue
		}
		ks = append(ks, strings.TrimPrefix(fmt.Sprintf("%T", e), "dockerctl."))
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
		if em, ok := e.(effEmit); ok && em.e.Kind == kind {
			return em.e
		}
	}
	l.t.Fatalf("no %s event in %s", kind, l.kinds())
	return event.Event{}
}

func built(id string) *BuildResult { return &BuildResult{ImageID: id, Builder: BuilderBuildKit} }

func ctr(id, image string) *Container {
	return &Container{ID: id, Name: "tfdev-demo-" + id, Image: image, HostIP: "127.0.0.1", HostPort: 8888, Token: "tok"}
}

// startedLoop is a loop whose first build runs in container c1.
func startedLoop(t *testing.T) *loop {
	l := newLoop(t, loopConfig{})
	l.feed(inAdopted{}, inBuilt{res: built("img1"), project: l.p})
	return l.feed(inStarted{c: ctr("c1", "img1"), how: "new"})
}

func TestReduceFirstStart(t *testing.T) {
	l := newLoop(t, loopConfig{})
	l.feed(inAdopted{}).want("build.start effBuild")
	l.feed(inBuilt{res: built("img1"), project: l.p}).want("build.done effStart")
	l.feed(inStarted{c: ctr("c1", "img1"), how: "new", synced: SyncResult{Files: 2}}).
		want("effReconcile sync container.start jupyter.starting effWaitReady effWriteState effPruneImages")
	if e := l.event(event.Container); e.Message != "new, http://127.0.0.1:8888/?token=tok" {
		t.Errorf("container.start says %q", e.Message)
	}
	// Jupyter answers: the door switches to it; "ready" waits for the
	// reconcile, which then sends what it found, and only then is said.
	l.feed(inHealth{c: ctr("c1", "img1"), url: "http://127.0.0.1:8888/?token=tok"}).want("effServe")
	l.feed(inServing{c: ctr("c1", "img1"), url: "http://127.0.0.1:8888/?token=tok"}).want("")
	push := []watcher.SyncItem{{Change: watcher.Change{Path: "train.py"}, Dest: "/app/train.py"}}
	l.feed(inReconciled{c: ctr("c1", "img1"), work: ReconcileWork{Push: push}, why: "new"}).want("effSync jupyter.ready")
	if e := l.out[0].(effSync); e.why != "new" || len(e.items) != 1 {
		t.Errorf("the reconcile's sync %+v", e)
	}
	// What the user writes in the container comes home, and is said.
	l.feed(inContainerChanged{c: ctr("c1", "img1"), sums: map[string]string{"/tf/new.ipynb": "ab"}}).want("effPull")
	l.feed(inPulled{rescued: []Rescued{{From: "/tf/new.ipynb", To: filepath.Join(l.p.Dir, ".tfdev/kept/tf/new.ipynb"), Kept: true}}}).want("rescue")
	if e := l.event(event.Rescue); !strings.Contains(e.Plain(), "kept /tf/new.ipynb -> .tfdev/kept/tf/new.ipynb") {
		t.Errorf("rescue event %q", e.Plain())
	}
	// Changes of a container that no longer serves are not pulled.
	l.feed(inContainerChanged{c: ctr("old", "img0"), sums: map[string]string{"/tf/x": "cd"}}).want("")
}

// Through the front door, the container's URL is the door's.
func TestReduceURLIsTheFrontDoors(t *testing.T) {
	l := newLoop(t, loopConfig{Door: "http://127.0.0.1:8888"})
	l.feed(inAdopted{}, inBuilt{res: built("img1"), project: l.p})
	c := ctr("c1", "img1")
	c.HostPort = 40001
	l.feed(inStarted{c: c, how: "new"})
	if e := l.event(event.Container); e.Message != "new, http://127.0.0.1:8888/?token=tok" {
		t.Errorf("container.start says %q", e.Message)
	}
}

func TestReduceReattachThenCurrentImage(t *testing.T) {
	l := newLoop(t, loopConfig{})
	l.feed(inAdopted{running: ctr("c0", "img1")}).want("info build.start effBuild")
	l.feed(inBuilt{res: built("img1"), project: l.p}).want("build.done effReattach")
	l.feed(inStarted{c: ctr("c0", "img1"), how: "reattached", rescued: []Rescued{{From: "/tf/new.ipynb", To: filepath.Join(l.p.Dir, "new.ipynb")}}})
	if e := l.event(event.Rescue); e.To != "new.ipynb" {
		t.Errorf("rescue to %q, want the project-relative path", e.To)
	}
	// A rebuild to the same image changes nothing.
	l.feed(inRequest{event.RequestRebuild}, inBuilt{res: built("img1"), project: l.p}).
		want("build.done info effWriteState")
}

func TestReduceSourceEditWhileBuilding(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt")).want("stale build.start effBuild")
	l.feed(l.batch("train.py")).want("effSync")
	sync := l.out[0].(effSync)
	if sync.c.ID != "c1" || len(sync.paths) != 1 || sync.paths[0] != "train.py" || sync.line != 5 {
		t.Errorf("sync %+v", sync)
	}
	if len(l.s.pending) != 0 || !l.s.building {
		t.Errorf("a sync queued a build: pending %v", l.s.pending)
	}
	l.feed(inSynced{res: SyncResult{Files: 1, Bytes: 9, Duration: time.Millisecond}, paths: sync.paths, line: sync.line}).want("sync")
}

func TestReduceDependencyEditWhileBuildingCoalesces(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(inRequest{event.RequestRebuild}).want("")
	if got := strings.Join(l.s.pending, "; "); got != "requirements.txt changed; requested" {
		t.Errorf("pending %q", got)
	}
	l.feed(inBuilt{res: built("img2"), project: l.p}).
		want("build.done effReplace")
	if !l.s.replacing {
		t.Fatal("not replacing")
	}
	l.feed(inStarted{c: ctr("c2", "img2"), how: "replaced c1", old: ctr("c1", "img1")}).
		want("effReconcile container.start jupyter.starting effWaitReady effWriteState effPruneImages build.start effBuild")
	if e := l.event(event.BuildStart); e.Reason != "requirements.txt changed, requested" {
		t.Errorf("follow-up build reason %q", e.Reason)
	}
}

func TestReduceDependencyEditDuringReplacement(t *testing.T) {
	l := startedLoop(t)
	l.feed(inRequest{event.RequestRebuild}, inBuilt{res: built("img2"), project: l.p})
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(l.batch("train.py")).want("effSync") // the old container still serves
	l.feed(inDeath{Death: Death{ID: "c1", Code: 0, At: t0}}).want("")
	l.feed(inStarted{c: ctr("c2", "img2"), how: "replaced c1", old: ctr("c1", "img1")})
	if e := l.event(event.BuildStart); e.Reason != "requirements.txt changed" {
		t.Errorf("no follow-up build after the replacement: %s", l.kinds())
	}
	if l.s.cur.ID != "c2" || l.s.expected["c1"] != 0 {
		t.Errorf("cur %s, expected %v", l.s.cur.ID, l.s.expected)
	}
}

func TestReduceFailedReplacementKeepsTheOld(t *testing.T) {
	l := startedLoop(t)
	l.feed(inRequest{event.RequestRebuild}, inBuilt{res: built("img2"), project: l.p})
	old := ctr("c1", "img1")
	l.feed(inStarted{old: old, err: errors.New("the new container did not start; the old one keeps serving")}).want("error")
	if l.s.cur.ID != "c1" || l.s.replacing {
		t.Errorf("cur %+v replacing %v", l.s.cur, l.s.replacing)
	}
	// The old one was never stopped: tfdev expects no death of it, and one
	// that comes is a crash.
	if l.s.expected["c1"] != 0 {
		t.Errorf("expected deaths %v", l.s.expected)
	}
	l.feed(inDeath{Death: Death{ID: "c1", Code: 137, At: t0}}).want("container.exit effRestart")
}

func TestReduceThreeDeathsInAMinute(t *testing.T) {
	l := startedLoop(t)
	l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0}, logs: []string{"boom"}}).want("container.exit effRestart")
	if e := l.event(event.ContainerEnd); *e.Code != 1 || e.Log[0] != "boom" {
		t.Errorf("exit event %+v", e)
	}
	l.feed(inStarted{c: ctr("c1", "img1"), how: "restarted after exit code 1"})
	l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0.Add(20 * time.Second)}}).want("container.exit effRestart")
	l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0.Add(40 * time.Second)}}).want("container.exit error")
	if !l.s.halted {
		t.Fatal("not halted")
	}
	// A successful build lifts the halt, and the crashes count afresh: a
	// death soon after restarts the container.
	l.feed(inRequest{event.RequestRebuild}, inBuilt{res: built("img1"), project: l.p})
	if l.s.halted || len(l.s.deaths) != 0 {
		t.Errorf("after a build: halted %v, deaths %v", l.s.halted, l.s.deaths)
	}
	l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0.Add(45 * time.Second)}}).want("container.exit effRestart")
}

func TestReduceDeathsOutsideTheWindowRestart(t *testing.T) {
	l := startedLoop(t)
	for i := range 5 {
		l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0.Add(time.Duration(i) * 45 * time.Second)}}).want("container.exit effRestart")
	}
}

func TestReduceDeathOfAnotherContainerIsIgnored(t *testing.T) {
	startedLoop(t).feed(inDeath{Death: Death{ID: "someone-else", At: t0}}).want("")
}

func TestReduceQuitDuringABuild(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	l.feed(inQuit{}).want("effShutdown")
	l.feed(inBuilt{err: context.Canceled, project: l.p}).want("")
	l.feed(l.batch("train.py")).want("")
	l.feed(inDeath{Death: Death{ID: "c1", At: t0}}).want("")
	if l.s.done {
		t.Fatal("done before the shutdown ended")
	}
	l.feed(inStopped{c: ctr("c1", "img1"), rescued: []Rescued{{From: "/tf/a.ipynb", To: filepath.Join(l.p.Dir, "a.ipynb")}}}).want("rescue stop")
	if !l.s.done {
		t.Fatal("not done")
	}
}

func TestReduceQuitWithKeepAndWithoutContainer(t *testing.T) {
	l := newLoop(t, loopConfig{Keep: true})
	l.feed(inAdopted{}, inQuit{}).want("stop")
	if !l.s.done || l.event(event.Stop).Message != "stopped" {
		t.Errorf("no container: %+v", l.out)
	}
	k := startedLoop(t)
	k.s.cfg.Keep = true
	k.feed(inQuit{}).want("effKeep stop")
	if !k.s.done || !strings.Contains(k.event(event.Stop).Message, "keeps running (--keep)") {
		t.Errorf("keep: %+v", k.out)
	}
}

func TestReduceBuildFailureKeepsServing(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	err := &BuildError{File: "Dockerfile", Line: 4, Instruction: "RUN pip install -r /tmp/requirements.txt", ExitCode: 1, Log: []string{"no match"}}
	l.feed(inBuilt{err: err, project: l.p}).want("build.failed")
	e := l.event(event.BuildFailed)
	if e.Line != 4 || !strings.HasSuffix(e.Message, "the old container is still serving") || e.Log[0] != "no match" {
		t.Errorf("build.failed %+v", e)
	}
	if l.s.cur.ID != "c1" || l.s.building {
		t.Errorf("state after a failed build: cur %v building %v", l.s.cur, l.s.building)
	}
	// Without a container, the message says what to do instead.
	n := newLoop(t, loopConfig{})
	n.feed(inAdopted{}, inBuilt{err: errors.New("boom"), project: n.p})
	if m := n.event(event.BuildFailed).Message; m != "boom; fix it and save, or ask for a rebuild" {
		t.Errorf("message %q", m)
	}
}

func TestReduceReloads(t *testing.T) {
	l := startedLoop(t)
	bad := l.batch("Dockerfile")
	bad.b.ReloadErr = &dockerfile.SyntaxError{File: "Dockerfile", Line: 3, Msg: "unknown instruction: COPPY"}
	l.feed(bad).want("build.failed")
	if e := l.event(event.BuildFailed); e.Line != 3 || e.File != "Dockerfile" {
		t.Errorf("%+v", e)
	}
	// A bad .dockerignore pattern is reported at its own line.
	bad = l.batch(".dockerignore")
	bad.b.ReloadErr = &watcher.PatternError{File: ".dockerignore", Line: 14, Pattern: "[", Err: errors.New("syntax error in pattern")}
	l.feed(bad).want("build.failed")
	if e := l.event(event.BuildFailed); e.File != ".dockerignore" || e.Line != 14 || !strings.HasPrefix(e.Plain(), ".dockerignore:14:1: error: bad pattern") {
		t.Errorf("%+v: %s", e, e.Plain())
	}
	np := testProject(t, loopDockerfile+"ENV X=1\n")
	good := l.batch("Dockerfile")
	good.b.Reloaded, good.b.Loaded, good.b.Rules = true, np, np.Rules
	l.feed(good).want("plan stale build.start effBuild")
	if l.s.project != np || len(l.event(event.Plan).Steps) != 6 {
		t.Errorf("project not swapped: %d steps", len(l.event(event.Plan).Steps))
	}
}

func TestReduceRescanAndResync(t *testing.T) {
	l := startedLoop(t)
	b := l.batch()
	b.b.Rescan = []string{"the kernel's event queue overflowed"}
	l.feed(b).want("effReconcile")
	if r := l.out[0].(effReconcile); r.why != "the kernel's event queue overflowed" || len(r.built) != 0 {
		t.Errorf("reconcile %+v", r)
	}
	l.feed(inRequest{event.RequestResync}).want("effReconcile")
	// An empty reconcile says nothing; a failed one says why it ran.
	l.feed(inSynced{why: "requested"}).want("")
	l.feed(inSynced{why: "requested", err: errors.New("exec failed")}).want("error")
	if m := l.event(event.Error).Message; m != "reconciling files (requested): exec failed" {
		t.Errorf("%q", m)
	}
	l.feed(inSynced{why: "requested", res: SyncResult{Files: 3}}).want("sync")
}

// A sync that sent nothing (the container already had it all) says
// nothing.
func TestReduceNoEmptySyncEvent(t *testing.T) {
	startedLoop(t).feed(inSynced{paths: []string{"train.py"}, res: SyncResult{}}).want("")
}

func TestReduceSyncPathErrors(t *testing.T) {
	l := startedLoop(t)
	l.feed(inSynced{paths: []string{"a", "b"}, res: SyncResult{Files: 1, Errors: []PathError{{Path: "b", Err: errors.New("a FIFO")}}}}).want("sync error")
}

func TestReduceHealth(t *testing.T) {
	l := startedLoop(t)
	ue := &UnreachableJupyterError{Logs: []string{"Traceback"}}
	l.feed(inHealth{c: ctr("c1", "img1"), err: ue}).want("jupyter.unreachable")
	l.feed(inHealth{c: ctr("old", "img0"), url: "x"}).want("")
	l.feed(inHealth{c: ctr("c1", "img1"), err: context.Canceled}).want("")
	l.feed(inHealth{c: ctr("c1", "img1"), err: errors.New("inspect failed")}).want("error")
}

func TestReduceEngineLostAndBack(t *testing.T) {
	l := startedLoop(t)
	l.s.cfg.Engine = "unix:///var/run/docker.sock"
	l.feed(inEngine{lost: true, err: errors.New("EOF")}).want("engine.lost effReconnect")
	if e := l.event(event.EngineLost); e.Engine != "unix:///var/run/docker.sock" || e.Message != "EOF" {
		t.Errorf("%+v", e)
	}
	l.feed(inEngine{lost: true}).want("") // said once
	l.feed(l.batch("train.py")).want("")
	l.feed(l.batch("requirements.txt")).want("stale")
	l.feed(inDeath{Death: Death{ID: "c1", Code: 137, At: t0}}).want("container.exit")
	l.feed(inEngine{lost: false}).want("engine.back effRecover build.start effBuild")
	if l.s.resync || len(l.s.pending) != 0 {
		t.Errorf("after recovery: resync %v pending %v", l.s.resync, l.s.pending)
	}
}

func TestReduceFailures(t *testing.T) {
	l := startedLoop(t)
	l.feed(inFailed{errors.New("watch error: too many open files")}).want("error")
	l.feed(inFailed{fmt.Errorf("building: %w", context.Canceled)}).want("")
}

// A build the Engine's loss broke is built again, once, when it is back; a
// sync it broke is left to the reconcile; a death replayed from before the
// container's latest start is not a crash.
func TestReduceEngineLossDuringWork(t *testing.T) {
	l := startedLoop(t)
	l.feed(l.batch("requirements.txt"))
	gone := errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
	l.feed(inEngine{lost: true, err: gone}, inBuilt{err: gone, project: l.p, reason: "requirements.txt changed"}).want("")
	l.feed(inSynced{paths: []string{"train.py"}, err: gone}).want("")
	if !l.s.resync || len(l.s.pending) != 1 {
		t.Fatalf("resync %v, pending %v", l.s.resync, l.s.pending)
	}
	l.feed(inEngine{lost: false}).want("engine.back effRecover build.start effBuild")
	if e := l.event(event.BuildStart); !strings.Contains(e.Reason, "again: the Engine went away") {
		t.Errorf("retry reason %q", e.Reason)
	}
	// Broken again: this time it is said.
	l.feed(inEngine{lost: true, err: gone}, inBuilt{err: gone, project: l.p}).want("build.failed")
	l.feed(inEngine{lost: false})

	c := ctr("c1", "img1")
	c.Started = t0.Add(time.Minute)
	l.feed(inStarted{c: c, how: "restarted after the Engine came back"})
	l.feed(inDeath{Death: Death{ID: "c1", Code: 137, At: t0.Add(30 * time.Second)}}).want("")
	l.feed(inDeath{Death: Death{ID: "c1", Code: 137, At: t0.Add(2 * time.Minute)}}).want("container.exit effRestart")
}

// Jupyter that stops answering is "down" (said once), and "ready" again,
// at the same URL, only when it answers.
func TestReduceProbe(t *testing.T) {
	l := startedLoop(t)
	l.feed(inReconciled{c: ctr("c1", "img1")}, inHealth{c: ctr("c1", "img1"), url: "http://127.0.0.1:8888/?token=tok"})
	l.feed(inServing{c: ctr("c1", "img1"), url: "http://127.0.0.1:8888/?token=tok"}).want("jupyter.ready")
	l.feed(inProbe{c: ctr("c1", "img1"), err: errors.New("connection refused"), at: t0}).want("jupyter.down")
	l.feed(inProbe{c: ctr("c1", "img1"), err: errors.New("connection refused"), at: t0}).want("")
	l.feed(inProbe{c: ctr("old", "img0"), at: t0}).want("")
	l.feed(inProbe{c: ctr("c1", "img1"), at: t0.Add(time.Second)}).want("jupyter.ready")
	if e := l.event(event.Ready); e.URL != "http://127.0.0.1:8888/?token=tok" {
		t.Errorf("ready again at %q", e.URL)
	}
	l.feed(inProbe{c: ctr("c1", "img1"), at: t0.Add(2 * time.Second)}).want("")
}

// A container that died takes no sync: the edits wait for the reconcile
// of its restart; one that was halted takes none until a build starts anew.
func TestReduceNoSyncIntoADeadContainer(t *testing.T) {
	l := startedLoop(t)
	l.feed(inDeath{Death: Death{ID: "c1", Code: 1, At: t0}}).want("container.exit effRestart")
	l.feed(l.batch("train.py")).want("")
	if !l.s.resync {
		t.Error("the edit is not remembered")
	}
	l.feed(inStarted{c: ctr("c1", "img1"), how: "restarted after exit code 1"})
	l.feed(l.batch("train.py")).want("effSync")
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
	l.feed(l.batch("train.py")).want("effSync")
	l.feed(inSynced{res: SyncResult{Files: 1}, paths: []string{"train.py"}}).want("sync")
	work := ReconcileWork{
		Push: []watcher.SyncItem{{Change: watcher.Change{Path: "util.py"}, Dest: "/app/util.py"}},
		Pull: map[string]string{"/app/notes.md": "ab"},
	}
	l.feed(inReconciled{c: ctr("c1", "img1"), work: work, why: "new"}).want("effSync effPull")
	l.feed(inSynced{err: errors.New("boom"), why: "new"}).want("error")
	if e := l.event(event.Error); !strings.Contains(e.Message, "reconciling files (new): boom") {
		t.Errorf("error %q", e.Message)
	}
	// Another container's comparison: nothing moves.
	l.feed(inReconciled{c: ctr("old", "img0"), work: work}).want("")
	// The Engine went away during a comparison: done again once back.
	l.feed(inRequest{event.RequestResync}).want("effReconcile")
	l.feed(inEngine{lost: true, err: errors.New("gone")}, inReconciled{c: ctr("c1", "img1"), err: errors.New("gone"), why: "requested"}).want("")
	if !l.s.resync || l.s.reconciles != 0 {
		t.Errorf("resync %v, %d reconciles", l.s.resync, l.s.reconciles)
	}
	l.feed(inEngine{lost: false}).want("engine.back effRecover")
	l.feed(inRecovered{c: ctr("c1", "img1")}).want("effReconcile")
}
