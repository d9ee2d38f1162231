package dockerctl

import (
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// servingLoop is a loop whose container c1 (image img1) serves: reconciled
// and ready.
func servingLoop(t *testing.T, cfg loopConfig) *loop {
	l := newLoop(t, cfg)
	l.feed(inAdopted{}, inBuilt{res: built("img1"), project: l.p, seq: 1}, inStarted{c: ctr("c1", "img1"), how: "new"})
	l.feed(inReconciled{c: ctr("c1", "img1")}, inHealth{c: ctr("c1", "img1"), url: "u"})
	return l.feed(inServing{c: ctr("c1", "img1"), url: "u"}).want("jupyter.ready")
}

// A requirements change is installed in the running container while the
// build runs; the build, done first, waits for the install; then the
// container is recorded as matching the new image, not replaced. R
// replaces it on demand.
func TestReduceLiveInstall(t *testing.T) {
	l := servingLoop(t, loopConfig{})
	l.feed(l.batch("requirements.txt")).want("stale effReplay build.start effBuild")
	if r := l.out[1].(effReplay); len(r.plan.Steps) != 3 || r.plan.Steps[1].Kind != "RUN" || r.changed[0] != "requirements.txt" {
		t.Errorf("replay %+v", r)
	}
	if b := l.event(event.BuildStart); !strings.Contains(b.Reason, "installed live in the running container") {
		t.Errorf("build.start says %q", b.Reason)
	}
	l.feed(inBuilt{res: built("img2"), project: l.p, seq: 2}).want("build.done")
	l.feed(inReplayed{c: ctr("c1", "img1"), changed: []string{"requirements.txt"}, summary: "installed tiny 1.0"}).
		want("replay.done container.live effWriteState effPruneImages")
	if e := l.event(event.Live); e.Message != "image img1 + live install (matches image img2)" {
		t.Errorf("container.live says %q", e.Message)
	}
	if w := l.out[2].(effWriteState); w.live != "img2" || w.built.ImageID != "img2" {
		t.Errorf("state written %+v", w)
	}
	// A source edit syncs as usual; a rebuild to the same image keeps it.
	l.feed(l.batch("train.py")).want("effSync")
	l.feed(inRequest{event.RequestRebuild}).want("build.start effBuild")
	l.feed(inBuilt{res: built("img2"), project: l.p, seq: 3}).want("build.done info effWriteState")
	// R: a container of the image, in its place.
	l.feed(inRequest{event.RequestReplace}).want("effReplace")
	l.feed(inStarted{c: ctr("c2", "img2"), old: ctr("c1", "img1"), how: "replaced"})
	if l.s.matches != "" {
		t.Errorf("the new container still matches %q through live installs", l.s.matches)
	}
	l.feed(inRequest{event.RequestReplace}).want("info")
}

// The install ends first; the build then is recorded at once.
func TestReduceLiveInstallBeforeTheBuild(t *testing.T) {
	l := servingLoop(t, loopConfig{})
	l.feed(l.batch("requirements.txt"))
	l.feed(inReplayed{c: ctr("c1", "img1"), summary: "changed numpy 1.24.2 -> 1.25.0", restart: []string{"numpy"}}).want("replay.done")
	if e := l.event(event.ReplayDone); len(e.Restart) != 1 || e.Restart[0] != "numpy" {
		t.Errorf("replay.done restart %v", e.Restart)
	}
	l.feed(inBuilt{res: built("img2"), project: l.p, seq: 2}).want("build.done container.live effWriteState effPruneImages")
}

// A failing install is said at its line with its output, and the build
// replaces the container as before: whether it ended before or after.
func TestReduceLiveInstallFails(t *testing.T) {
	fail := &ReplayError{File: "Dockerfile", Line: 4, Instruction: "RUN pip install -r /tmp/requirements.txt", Code: 1,
		Log: []string{"ERROR: No matching distribution found for nosuchpkg"}}
	l := servingLoop(t, loopConfig{})
	l.feed(l.batch("requirements.txt"))
	l.feed(inReplayed{c: ctr("c1", "img1"), err: fail}).want("error")
	if e := l.event(event.Error); e.Line != 4 || len(e.Log) != 1 || !strings.Contains(e.Message, "rebuilding and replacing the container instead") {
		t.Errorf("error %+v", e)
	}
	l.feed(inBuilt{res: built("img2"), project: l.p, seq: 2}).want("build.done effReplace")

	l = servingLoop(t, loopConfig{})
	l.feed(l.batch("requirements.txt"))
	l.feed(inBuilt{res: built("img2"), project: l.p, seq: 2}).want("build.done")
	l.feed(inReplayed{c: ctr("c1", "img1"), err: fail}).want("error effReplace")
}

// Not live: --deps rebuild; a Dockerfile change (said why); a container
// that is not ready yet; during a build.
func TestReduceLiveInstallNotTaken(t *testing.T) {
	l := servingLoop(t, loopConfig{Deps: DepsRebuild})
	l.feed(l.batch("requirements.txt")).want("stale build.start effBuild")

	l = servingLoop(t, loopConfig{})
	l.feed(l.batch("Dockerfile")).want("stale info build.start effBuild")
	if e := l.event(event.Info); !strings.Contains(e.Message, "Dockerfile changed: every step may differ") {
		t.Errorf("info %q", e.Message)
	}

	l = startedLoop(t) // no ready yet
	l.feed(l.batch("requirements.txt")).want("stale build.start effBuild")

	l = servingLoop(t, loopConfig{})
	l.feed(inRequest{event.RequestRebuild})
	l.feed(l.batch("requirements.txt")).want("stale")
}

// --replace-now: at start, a container matching the image through live
// installs is replaced, not reattached; without it, reattached.
func TestReduceReplaceNowAtStart(t *testing.T) {
	for _, c := range []struct {
		now  bool
		want string
	}{{true, "build.done info effReplace"}, {false, "build.done effReattach"}} {
		l := newLoop(t, loopConfig{ReplaceNow: c.now})
		l.feed(inAdopted{running: ctr("c1", "img1"), live: "img2"})
		l.feed(inBuilt{res: built("img2"), project: l.p, seq: 1}).want(c.want)
	}
}
