package loop

import (
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// servingLoop is a loop whose container c1 (image img1) serves: reconciled
// and ready.
func servingLoop(t *testing.T, cfg Config) *loop {
	l := newLoop(t, cfg)
	l.feed(Adopted{}, Built{Res: built("img1"), Project: l.p, Seq: 1}, Started{C: ctr("c1", "img1"), How: "new"})
	l.feed(Reconciled{C: ctr("c1", "img1")}, Health{C: ctr("c1", "img1"), URL: "u"})
	return l.feed(Serving{C: ctr("c1", "img1"), URL: "u"}).want("jupyter.ready")
}

// A requirements change is installed in the running container while the
// build runs; the build, done first, waits for the install; then the
// container is recorded as matching the new image, not replaced. R
// replaces it on demand.
func TestReduceLiveInstall(t *testing.T) {
	l := servingLoop(t, Config{})
	l.feed(l.batch("requirements.txt")).want("stale Replay build.start Build")
	if r := l.out[1].(Replay); len(r.Plan.Steps) != 3 || r.Plan.Steps[1].Kind != "RUN" || r.Changed[0] != "requirements.txt" {
		t.Errorf("replay %+v", r)
	}
	if b := l.event(event.BuildStart); !strings.Contains(b.Reason, "installed live in the running container") {
		t.Errorf("build.start says %q", b.Reason)
	}
	l.feed(Built{Res: built("img2"), Project: l.p, Seq: 2}).want("build.done")
	l.feed(Replayed{C: ctr("c1", "img1"), Changed: []string{"requirements.txt"}, Summary: "installed tiny 1.0"}).
		want("replay.done container.live WriteState PruneImages")
	if e := l.event(event.Live); e.Message != "image img1 + live install (matches image img2)" {
		t.Errorf("container.live says %q", e.Message)
	}
	if w := l.out[2].(WriteState); w.Live != "img2" || w.Built.ImageID != "img2" {
		t.Errorf("state written %+v", w)
	}
	// A source edit syncs as usual; a rebuild to the same image keeps it.
	l.feed(l.batch("train.py")).want("Sync")
	l.feed(Requested{event.RequestRebuild}).want("build.start Build")
	l.feed(Built{Res: built("img2"), Project: l.p, Seq: 3}).want("build.done info WriteState")
	// R: a container of the image, in its place.
	l.feed(Requested{event.RequestReplace}).want("Replace")
	l.feed(Started{C: ctr("c2", "img2"), Old: ctr("c1", "img1"), How: "replaced"})
	if l.s.matches != "" {
		t.Errorf("the new container still matches %q through live installs", l.s.matches)
	}
	l.feed(Requested{event.RequestReplace}).want("info")
}

// The install ends first; the build then is recorded at once.
func TestReduceLiveInstallBeforeTheBuild(t *testing.T) {
	l := servingLoop(t, Config{})
	l.feed(l.batch("requirements.txt"))
	l.feed(Replayed{C: ctr("c1", "img1"), Summary: "changed numpy 1.24.2 -> 1.25.0", Restart: []string{"numpy"}, Kernels: []model.KernelReload{
		{Kernel: "k1", Imported: []string{"numpy", "numpy.linalg"}}, {Kernel: "k2"}}}).want("replay.done kernel.imports kernel.imports")
	if e := l.event(event.ReplayDone); len(e.Restart) != 1 || e.Restart[0] != "numpy" {
		t.Errorf("replay.done restart %v", e.Restart)
	}
	var said []string
	for _, e := range l.out[1:] {
		said = append(said, e.(Emit).Event.Text())
	}
	if want := []string{"kernel k1 imported numpy, numpy.linalg: restart it to use the new numpy", "kernel k2 imported none of numpy: no restart needed"}; strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Errorf("said:\n%s", strings.Join(said, "\n"))
	}
	l.feed(Built{Res: built("img2"), Project: l.p, Seq: 2}).want("build.done container.live WriteState PruneImages")
}

// A failing install is said at its line with its output, and the build
// replaces the container as before: whether it ended before or after.
func TestReduceLiveInstallFails(t *testing.T) {
	fail := &model.ReplayError{File: "Dockerfile", Line: 4, Instruction: "RUN pip install -r /tmp/requirements.txt", Code: 1,
		Log: []string{"ERROR: No matching distribution found for nosuchpkg"}}
	l := servingLoop(t, Config{})
	l.feed(l.batch("requirements.txt"))
	l.feed(Replayed{C: ctr("c1", "img1"), Err: fail}).want("error")
	if e := l.event(event.Error); e.Line != 4 || len(e.Log) != 1 || !strings.Contains(e.Message, "rebuilding and replacing the container instead") {
		t.Errorf("error %+v", e)
	}
	l.feed(Built{Res: built("img2"), Project: l.p, Seq: 2}).want("build.done Replace")

	l = servingLoop(t, Config{})
	l.feed(l.batch("requirements.txt"))
	l.feed(Built{Res: built("img2"), Project: l.p, Seq: 2}).want("build.done")
	l.feed(Replayed{C: ctr("c1", "img1"), Err: fail}).want("error Replace")
}

// Not live: --deps rebuild; a Dockerfile change (said why); a container
// that is not ready yet; during a build.
func TestReduceLiveInstallNotTaken(t *testing.T) {
	l := servingLoop(t, Config{Deps: DepsRebuild})
	l.feed(l.batch("requirements.txt")).want("stale build.start Build")

	l = servingLoop(t, Config{})
	l.feed(l.batch("Dockerfile")).want("stale info build.start Build")
	if e := l.event(event.Info); !strings.Contains(e.Message, "Dockerfile changed: every step may differ") {
		t.Errorf("info %q", e.Message)
	}

	l = startedLoop(t) // no ready yet
	l.feed(l.batch("requirements.txt")).want("stale build.start Build")

	l = servingLoop(t, Config{})
	l.feed(Requested{event.RequestRebuild})
	l.feed(l.batch("requirements.txt")).want("stale")
}

// --replace-now: at start, a container matching the image through live
// installs is replaced, not reattached; without it, reattached.
func TestReduceReplaceNowAtStart(t *testing.T) {
	for _, c := range []struct {
		now  bool
		want string
	}{{true, "build.done info Replace"}, {false, "build.done Reattach"}} {
		l := newLoop(t, Config{ReplaceNow: c.now})
		l.feed(Adopted{Running: ctr("c1", "img1"), Live: "img2"})
		l.feed(Built{Res: built("img2"), Project: l.p, Seq: 1}).want(c.want)
	}
}
