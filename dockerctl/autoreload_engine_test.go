package dockerctl

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// autoreloadProject syncs its code to /app; the Jupyter image serves
// notebooks (and starts kernels) in /tf.
func autoreloadProject(t testing.TB, user ...string) string {
	dir := t.TempDir()
	df := "FROM " + testimage.Jupyter + "\n"
	if len(user) > 0 { // a non-root USER: the kernels run as it, with its own profile
		df += "RUN useradd -m " + user[0] + " && chown " + user[0] + " /tf\nUSER " + user[0] + "\n"
	}
	writeFile(t, dir, "Dockerfile", df+"COPY . /app\n")
	writeFile(t, dir, ".dockerignore", ".tfdev\n")
	writeFile(t, dir, "model.py", "def f():\n    return 1\n")
	return dir
}

// waitSync waits for the sync event of path, and returns it.
func waitSync(t testing.TB, events <-chan event.Event, path string) event.Event {
	t.Helper()
	deadline := time.After(2 * time.Minute) // a bound on the wait, not a timing assertion
	for {
		select {
		case e := <-events:
			if e.Kind == event.Sync && slices.Contains(e.Paths, path) {
				return e
			}
			if e.Kind == event.Error {
				t.Logf("while waiting for the sync: %s", e.Text())
			}
		case <-deadline:
			t.Fatalf("no sync of %s", path)
		}
	}
}

// An edit reaches a running kernel at its next cell: the new value from
// the same kernel, with no re-import, from a kernel in /tf while the code
// syncs to /app (the project is on the kernel's sys.path). With
// --autoreload=false the same kernel keeps the old code: the test can
// fail. The startup file stays out of the project, its context and the
// rescues.
func TestAutoreloadReachesTheRunningKernel(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	for _, c := range []struct {
		on   bool
		user []string
	}{{true, nil}, {false, nil}, {true, []string{"jo"}}} {
		on := c.on
		t.Run(fmt.Sprintf("autoreload=%v,user=%v", on, c.user), func(t *testing.T) {
			dir := autoreloadProject(t, c.user...)
			ready, events, stop := runSession(t, SessionOptions{Dir: dir, Port: 0, NoAutoreload: !on})
			base, token, kernel := kernelThroughDoor(t, ready)
			ws := dialKernel(t, base, token, kernel)
			defer ws.CloseNow()
			setup := "import model\nprint(model.f())"
			if !on {
				setup = "import sys\nsys.path.insert(0, '/app')\n" + setup // by hand, as without tfdev
			}
			if out := kernelExec(t, ws, setup); out != "1" {
				t.Fatalf("the kernel in /tf importing /app/model.py: %q", out)
			}
			writeFile(t, dir, "model.py", "def f():\n    return 2\n")
			sync := waitSync(t, events, "model.py")
			want := "2"
			if !on {
				want = "1"
			}
			if out := kernelExec(t, ws, "print(model.f())"); out != want {
				t.Errorf("the same kernel after the edit: %q, want %q", out, want)
			}
			if on { // a second save of the same size, within the same second
				writeFile(t, dir, "model.py", "def f():\n    return 3\n")
				waitSync(t, events, "model.py")
				if out := kernelExec(t, ws, "print(model.f())"); out != "3" {
					t.Errorf("after a second save within the second: %q, want 3", out)
				}
			}
			if ids := kernelIDs(t, base, token); len(ids) != 1 || ids[0] != kernel {
				t.Errorf("kernels %v, want only %s", ids, kernel)
			}
			if on && (len(sync.Modules) != 1 || sync.Modules[0] != "model" || !strings.Contains(sync.Text(), "kernels reload model")) {
				t.Errorf("the sync says %q (modules %v)", sync.Text(), sync.Modules)
			}
			if !on && len(sync.Modules) > 0 {
				t.Errorf("modules named with autoreload off: %v", sync.Modules)
			}
			if !on {
				return
			}
			// The startup file: in the kernel user's profile, nowhere else.
			home := "/root"
			if c.user != nil {
				home = "/home/" + c.user[0]
			}
			if got := sh(t, ready.Container, "test -f "+home+"/.ipython/profile_default/startup/"+engine.AutoreloadFile+" && stat -c %U "+home+"/.ipython/profile_default/startup/"+engine.AutoreloadFile); got != filepath.Base(home) {
				t.Errorf("the startup file in the kernel user's profile: %q", got)
			}
			stop()
			filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Name() == engine.AutoreloadFile {
					t.Errorf("the startup file came home: %s", p)
				}
				return nil
			})
			files, err := watcher.ListContext(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if strings.Contains(f.Rel, ".ipython") || strings.HasSuffix(f.Rel, engine.AutoreloadFile) {
					t.Errorf("in the build context: %s", f.Rel)
				}
			}
		})
	}
}

// BenchmarkSaveToNextCell: a save on the host until the next cell of a
// running kernel returns the new value (the cell is run again until it
// does), over the whole loop and autoreload.
func BenchmarkSaveToNextCell(b *testing.B) {
	requireEngine(b)
	needJupyter(b)
	dir := autoreloadProject(b)
	ready, events, _ := runSession(b, SessionOptions{Dir: dir, Port: 0})
	go func() {
		for range events { // keep the session's events flowing
		}
	}()
	u := ready.URL
	base, token := u[:strings.Index(u, "/?")], u[strings.Index(u, "token=")+len("token="):]
	ws := dialKernel(b, base, token, startKernel(b, base, token))
	defer ws.CloseNow()
	kernelExec(b, ws, "import model")
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		want := fmt.Sprint(100 + i)
		start := time.Now()
		writeFile(b, dir, "model.py", fmt.Sprintf("def f():\n    return %s\n", want))
		for kernelExec(b, ws, "print(model.f())") != want {
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.9).Microseconds())/1000, "p90-ms")
}

// A kernel that ran before tfdev turned reloading on (a reattach to a
// container of a run with --autoreload=false) is reached too: an edit made
// after the reattach is in its next cell, with its state kept.
func TestReloadReachesKernelsThatRanBefore(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := autoreloadProject(t)
	t.Cleanup(func() {
		ids, _ := testEngine.ProjectContainers(context.Background(), dir)
		for _, id := range ids {
			testEngine.Remove(context.Background(), id)
		}
	})
	ready, _, stop := runSession(t, SessionOptions{Dir: dir, Port: 0, Keep: true, NoAutoreload: true})
	base, token, kernel := kernelThroughDoor(t, ready)
	ws := dialKernel(t, base, token, kernel)
	if out := kernelExec(t, ws, "import sys\nsys.path.insert(0, '/app')\nimport model\nx = 41\nprint(model.f())"); out != "1" {
		t.Fatalf("before: %q", out)
	}
	ws.CloseNow()
	stop()

	ready2, events, _ := runSession(t, SessionOptions{Dir: dir, Port: 0})
	if ready2.Container != ready.Container {
		t.Fatalf("not reattached: %s, then %s", ready.Container, ready2.Container)
	}
	writeFile(t, dir, "model.py", "def f():\n    return 2\n")
	waitSync(t, events, "model.py")
	base2, token2 := splitReady(t, ready2)
	ws = dialKernel(t, base2, token2, kernel)
	defer ws.CloseNow()
	if out := kernelExec(t, ws, "print(model.f(), x + 1)"); out != "2 42" {
		t.Errorf("the kernel that ran before, after the edit: %q, want \"2 42\"", out)
	}
}

// waitKind waits for the next event of kind that match accepts.
func waitKind(t testing.TB, events <-chan event.Event, kind event.Kind, match func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.After(2 * time.Minute) // a bound on the wait, not a timing assertion
	for {
		select {
		case e := <-events:
			if e.Kind == kind && (match == nil || match(e)) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event", kind)
		}
	}
}

// A save that breaks a module is said, naming the kernel, the module and
// what to do; the kernel keeps the last version that loaded; the fix,
// saved, reloads it and says so. Through the whole session, with a kernel
// started through tfdev's URL.
func TestReloadFailureIsSaid(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := autoreloadProject(t)
	ready, events, _ := runSession(t, SessionOptions{Dir: dir, Port: 0})
	base, token, kernel := kernelThroughDoor(t, ready)
	ws := dialKernel(t, base, token, kernel)
	defer ws.CloseNow()
	if out := kernelExec(t, ws, "import model\nprint(model.f())"); out != "1" {
		t.Fatalf("before: %q", out)
	}
	writeFile(t, dir, "model.py", "def f(:\n    return 2\n")
	failed := waitKind(t, events, event.ReloadFailed, nil)
	if failed.Kernel != kernel || failed.Module != "model" || !strings.HasPrefix(failed.Message, "SyntaxError") || !strings.Contains(failed.Fix, "fix it and save again") {
		t.Errorf("kernel.reload_failed: %+v", failed)
	}
	if out := kernelExec(t, ws, "print(model.f())"); out != "1" {
		t.Errorf("the kernel after the broken save: %q, want the last version that loaded", out)
	}
	writeFile(t, dir, "model.py", "def f():\n    return 3\n")
	reloaded := waitKind(t, events, event.KernelReload, nil)
	if reloaded.Kernel != kernel || !slices.Equal(reloaded.Modules, []string{"model"}) {
		t.Errorf("kernel.reload: %+v", reloaded)
	}
	if out := kernelExec(t, ws, "print(model.f())"); out != "3" {
		t.Errorf("after the fix: %q", out)
	}
}
