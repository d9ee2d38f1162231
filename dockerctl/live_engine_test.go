package dockerctl

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// writeWheel writes a pure-Python wheel of package name at version, whose
// module holds VALUE = value: what pip installs with --no-index
// --find-links, nothing from the network.
func writeWheel(t testing.TB, dir, name, version string, value int) string {
	t.Helper()
	files := map[string]string{
		name + "/__init__.py":                        fmt.Sprintf("VALUE = %d\n", value),
		name + "-" + version + ".dist-info/METADATA": fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version),
		name + "-" + version + ".dist-info/WHEEL":    "Wheel-Version: 1.0\nGenerator: tfdev-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range []string{name + "/__init__.py", name + "-" + version + ".dist-info/METADATA", name + "-" + version + ".dist-info/WHEEL"} {
		w, _ := zw.Create(p)
		w.Write([]byte(files[p]))
		sum := sha256.Sum256([]byte(files[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	rec := name + "-" + version + ".dist-info/RECORD"
	fmt.Fprintf(&record, "%s,,\n", rec)
	w, _ := zw.Create(rec)
	w.Write([]byte(record.String()))
	zw.Close()
	file := fmt.Sprintf("wheels/%s-%s-py3-none-any.whl", name, version)
	if err := os.WriteFile(filepath.Join(dir, file), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// liveProject is the seed's shape with a local wheel folder: requirements,
// the wheels, pip install from them, then the source.
func liveProject(t testing.TB) string {
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nWORKDIR /tf\nCOPY requirements.txt /tmp/requirements.txt\nCOPY wheels /wheels\n"+
		"RUN pip install --no-index --find-links /wheels -r /tmp/requirements.txt\nCOPY . /tf\n")
	writeFile(t, dir, ".dockerignore", ".tfdev\n")
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\n")
	writeFile(t, dir, "wheels/.keep", "\n")
	writeFile(t, dir, "train.py", "print('train')\n")
	return dir
}

// kernelThroughDoor starts a kernel through the session's URL and opens
// its WebSocket, as the notebook page does.
func kernelThroughDoor(t *testing.T, ready event.Event) (base, token, kernel string) {
	base, token = splitReady(t, ready)
	return base, token, startKernel(t, base, token)
}

// splitReady is the base and the token of a ready event's URL.
func splitReady(t testing.TB, ready event.Event) (base, token string) {
	u, err := url.Parse(ready.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host, u.Query().Get("token")
}

// A package added to requirements.txt is installed in the running
// container: importable in the same kernel, whose variables live on; the
// container is the same; the build ran behind and made the image the
// project's current one; and a later session reattaches, not replaces.
func TestLiveInstallKeepsTheKernel(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := liveProject(t)
	ready, events, stop := runSession(t, SessionOptions{Dir: dir, Port: 0, Keep: true})
	t.Cleanup(func() {
		ids, _ := testEngine.ProjectContainers(context.Background(), dir)
		for _, id := range ids {
			testEngine.Remove(context.Background(), id)
		}
	})
	before, err := testEngine.Find(context.Background(), dir)
	if err != nil || before == nil {
		t.Fatal(err)
	}
	base, token, kernel := kernelThroughDoor(t, ready)
	ws := dialKernel(t, base, token, kernel)
	defer ws.CloseNow()
	if out := kernelExec(t, ws, "x = 41\nprint('set')"); out != "set" {
		t.Fatalf("the kernel: %q", out)
	}

	writeWheel(t, dir, "tfdevtiny", "1.0", 1)
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\ntfdevtiny==1.0\n")
	var live, done event.Event
	var replaced bool
	deadline := time.After(10 * time.Minute) // a bound on the wait, not a timing assertion
	for live.Kind == "" || done.Kind == "" {
		select {
		case e := <-events:
			switch e.Kind {
			case event.Live:
				live = e
			case event.ReplayDone:
				done = e
			case event.Container:
				replaced = replaced || strings.HasPrefix(e.Message, "replaced")
			case event.Error, event.BuildFailed:
				t.Fatalf("%s: %s %v", e.Kind, e.Text(), e.Log)
			}
		case <-deadline:
			t.Fatal("no live install and build within the deadline")
		}
	}
	t.Logf("%s; %s", done.Text(), live.Text())
	if replaced {
		t.Error("the container was replaced")
	}
	if !strings.Contains(done.Message, "installed tfdevtiny 1.0") {
		t.Errorf("replay.done says %q", done.Message)
	}
	// The same kernel imports it, with its variable still set.
	if out := kernelExec(t, ws, "import tfdevtiny\nprint(x + tfdevtiny.VALUE)"); out != "42" {
		t.Errorf("the same kernel after the install: %q", out)
	}
	if ids := kernelIDs(t, base, token); len(ids) != 1 || ids[0] != kernel {
		t.Errorf("kernels %v, want only %s", ids, kernel)
	}
	after, err := testEngine.Find(context.Background(), dir)
	if err != nil || after == nil || after.ID != before.ID {
		t.Fatalf("the container changed: %v -> %v (%v)", before, after, err)
	}
	if live.Image == after.Image || !strings.Contains(live.Message, "live install (matches image "+event.ShortID(live.Image)+")") {
		t.Errorf("container.live %+v; the container runs %s", live, after.Image)
	}
	st, err := statefile.ReadState(dir)
	if err != nil || st.Image != live.Image || st.LiveContainer != after.ID {
		t.Errorf("state %+v (%v)", st, err)
	}

	// A later session reattaches to it: no replacement.
	stop()
	ready2, events2, stop2 := runSession(t, SessionOptions{Dir: dir, Port: 0})
	defer stop2()
	again, _ := testEngine.Find(context.Background(), dir)
	if again == nil || again.ID != before.ID {
		t.Errorf("the next session runs %v, not %s: it replaced the container", again, before.ID)
	}

	// A new version of the package the kernel imported: tfdev names, per
	// kernel, what it imported from it, and whether it must restart.
	_, _, other := kernelThroughDoor(t, ready2)
	writeWheel(t, dir, "tfdevtiny", "2.0", 2)
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\ntfdevtiny==2.0\n")
	said := map[string]event.Event{}
	for len(said) < 2 {
		e := waitKind(t, events2, event.KernelImports, nil)
		said[e.Kernel] = e
	}
	if e := said[kernel]; !slices.Equal(e.Modules, []string{"tfdevtiny"}) || !slices.Equal(e.Restart, []string{"tfdevtiny"}) ||
		e.Text() != "kernel "+kernel[:8]+" imported tfdevtiny: restart it to use the new tfdevtiny" {
		t.Errorf("the kernel that imported it: %+v", e)
	}
	if e := said[other]; len(e.Modules) != 0 || len(e.Restart) != 0 || !strings.Contains(e.Text(), "imported none of tfdevtiny: no restart needed") {
		t.Errorf("the kernel that did not: %+v", e)
	}
}

// BenchmarkDependencyChange: a package added to requirements.txt (with its
// wheel) until it imports in a kernel: installed live, in the kernel that
// was running; and rebuilt and replaced (--deps rebuild), in a new kernel
// of the new container. The live path's pip step is reported too.
func BenchmarkDependencyChange(b *testing.B) {
	requireEngine(b)
	needJupyter(b)
	for _, deps := range []string{loop.DepsLive, loop.DepsRebuild} {
		b.Run(deps, func(b *testing.B) {
			dir := liveProject(b)
			ready, events, _ := runSession(b, SessionOptions{Dir: dir, Port: 0, Deps: deps})
			u, _ := url.Parse(ready.URL)
			base, token := u.Scheme+"://"+u.Host, u.Query().Get("token")
			ws := dialKernel(b, base, token, startKernel(b, base, token))
			var took, pip []time.Duration
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("tfdevtiny%d", i)
				writeWheel(b, dir, name, "1.0", i)
				start := time.Now()
				appendFile(b, dir, "requirements.txt", name+"==1.0\n")
				for waiting := true; waiting; {
					e := <-events
					if os.Getenv("TFDEV_BENCH_DEBUG") != "" {
						fmt.Fprintln(os.Stderr, e.Text())
					}
					switch {
					case e.Kind == event.BuildFailed || e.Kind == event.Error:
						b.Fatalf("%s", e.Text())
					case deps == loop.DepsLive && e.Kind == event.ReplayStep && e.State == event.StepDone && strings.HasPrefix(e.Instruction, "RUN"):
						pip = append(pip, e.Duration)
					case deps == loop.DepsLive && e.Kind == event.ReplayDone:
						waiting = false
					case deps == loop.DepsRebuild && e.Kind == event.Ready:
						ws.CloseNow()
						ws = dialKernel(b, base, token, startKernel(b, base, token))
						waiting = false
					}
				}
				if out := kernelExec(b, ws, fmt.Sprintf("import %s\nprint(%s.VALUE)", name, name)); out != fmt.Sprint(i) {
					b.Fatalf("import %s: %q", name, out)
				}
				took = append(took, time.Since(start))
			}
			b.ReportMetric(median(took).Seconds(), "importable-s")
			if len(pip) > 0 {
				b.ReportMetric(median(pip).Seconds(), "pip-s")
			}
		})
	}
}

func appendFile(t testing.TB, dir, rel, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, rel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// A live install that fails (an unknown package) is an error at its
// Dockerfile line with pip's last lines; tfdev falls back to the rebuild,
// which fails the same way, and the container keeps serving.
func TestLiveInstallFailureFallsBack(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := liveProject(t)
	ready, events, _ := runSession(t, SessionOptions{Dir: dir, Port: 0})
	before, _ := testEngine.Find(context.Background(), dir)
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\nnosuchpackage-tfdev==1.0\n")
	var failed, built event.Event
	deadline := time.After(10 * time.Minute) // a bound on the wait, not a timing assertion
	for failed.Kind == "" || built.Kind == "" {
		select {
		case e := <-events:
			switch {
			case e.Kind == event.Error && strings.Contains(e.Message, "live install failed"):
				failed = e
			case e.Kind == event.BuildFailed:
				built = e
			case e.Kind == event.Live || e.Kind == event.ReplayDone:
				t.Fatalf("%s after a failed install", e.Kind)
			}
		case <-deadline:
			t.Fatal("no failure within the deadline")
		}
	}
	if failed.Line != 5 || !strings.Contains(strings.Join(failed.Log, "\n"), "nosuchpackage-tfdev") ||
		!strings.Contains(failed.Message, "rebuilding and replacing the container instead") {
		t.Errorf("the failure: line %d, %q, log %q", failed.Line, failed.Message, failed.Log)
	}
	if built.Line != 5 {
		t.Errorf("the build failed at line %d: %s", built.Line, built.Text())
	}
	after, _ := testEngine.Find(context.Background(), dir)
	u, _ := url.Parse(ready.URL)
	if after == nil || after.ID != before.ID {
		t.Errorf("the container changed: %v -> %v", before, after)
	} else if code, err := engine.JupyterGet(context.Background(), u.Scheme+"://"+u.Host+"/api/status", u.Query().Get("token")); err != nil || code != 200 {
		t.Errorf("the container stopped serving: %d %v", code, err)
	}
}
