package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// tfdevBinary builds the real binary once per test run.
func tfdevBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tfdev-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tfdev")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// needEngine connects to the Engine for a test that needs it, with the test
// images made. Without an Engine the test skips, unless
// TFDEV_REQUIRE_ENGINE=1 (as in CI): then it fails.
func needEngine(t testing.TB) *engine.Engine {
	t.Helper()
	eng, err := engine.Connect(context.Background())
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			t.Fatalf("TFDEV_REQUIRE_ENGINE=1 and no Docker Engine: %v", err)
		}
		t.Skipf("no Docker Engine (%v); set TFDEV_REQUIRE_ENGINE=1 to make this a failure", err)
	}
	t.Cleanup(func() { eng.Close() })
	api, err := testimage.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if err := testimage.EnsureJupyter(context.Background(), api, io.Discard); err != nil {
		t.Fatalf("the Jupyter test image: %v", err)
	}
	return eng
}

// copyDemo copies testdata/demo to a temp dir: the test edits it.
func copyDemo(t *testing.T) string { return copyFixture(t, "demo") }

// copyFixture copies testdata/name to a folder of the same name.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("../../testdata", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// upProcess is a running `tfdev up` with its output lines.
type upProcess struct {
	t     testing.TB
	cmd   *exec.Cmd
	lines chan string
	seen  []string
	done  chan error
}

func startUp(t testing.TB, dir string, args ...string) *upProcess {
	t.Helper()
	return startUpWith(t, dir, testimage.Jupyter, args...)
}

// startUpWith runs tfdev up on dir with BASE=base.
func startUpWith(t testing.TB, dir, base string, args ...string) *upProcess {
	t.Helper()
	return startUpEnv(t, dir, base, nil, args...)
}

// startUpEnv runs tfdev up on dir with BASE=base (none when "") and env
// added to the environment.
func startUpEnv(t testing.TB, dir, base string, env []string, args ...string) *upProcess {
	t.Helper()
	return startUpEnvWith(t, dir, base, env, []string{tfdevBinary(t)}, args...)
}

// startUpEnvWith is startUpEnv with the command line that runs tfdev
// (a wrapper first, such as setpriv).
func startUpEnvWith(t testing.TB, dir, base string, env, run []string, args ...string) *upProcess {
	t.Helper()
	// --port 0: any free port, so tests running side by side never collide.
	flags := []string{"up", "-C", dir, "--no-tui", "--port", "0"}
	if base != "" {
		flags = append(flags, "--build-arg", "BASE="+base)
	}
	cmd := exec.Command(run[0], append(append(run[1:], flags...), args...)...)
	cmd.Env = append(os.Environ(), env...)
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		cmd.Dir = dir // -C names it anyway; a user tfdev runs as may not enter the test's folder
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{t: t, cmd: cmd, lines: make(chan string, 1024), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("tfdev output:\n%s\nstderr:\n%s", strings.Join(p.seen, "\n"), stderr.String())
		}
	})
	cleanupProject(t, dir)
	return p
}

// lockedBuffer is a buffer that the process writes while a test may read.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cleanupProject removes, at the end of the test, whatever containers and
// images the project still has.
func cleanupProject(t testing.TB, dir string) {
	t.Cleanup(func() {
		eng, err := engine.Connect(context.Background())
		if err != nil {
			return
		}
		defer eng.Close()
		ids, _ := eng.ProjectContainers(context.Background(), dir)
		for _, id := range ids {
			eng.Remove(context.Background(), id)
		}
		imgs, _ := eng.ProjectImages(context.Background(), dir)
		for _, im := range imgs {
			eng.RemoveImage(context.Background(), im.ID, true)
		}
	})
}

// next returns the next line that satisfies match, failing after a generous
// deadline (a bound on the wait, not a timing assertion).
func (p *upProcess) next(what string, match func(string) bool) string {
	p.t.Helper()
	deadline := time.After(4 * time.Minute)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("tfdev exited before %s", what)
			}
			p.seen = append(p.seen, l)
			if match(l) {
				return l
			}
		case <-deadline:
			p.t.Fatalf("no %s within the deadline", what)
		}
	}
}

// nextEvent waits for a JSON event of the kind for which ok holds; the
// events passed on the way are returned too.
func (p *upProcess) nextEvent(kind event.Kind, ok func(event.Event) bool) (event.Event, []event.Event) {
	p.t.Helper()
	return p.nextWhere(string(kind), func(e event.Event) bool { return e.Kind == kind && (ok == nil || ok(e)) })
}

// nextWhere waits for a JSON event, of any kind, for which match holds. A
// failed build it does not wait for fails the test.
func (p *upProcess) nextWhere(what string, match func(event.Event) bool) (event.Event, []event.Event) {
	p.t.Helper()
	var passed []event.Event
	var found event.Event
	p.next(what, func(l string) bool {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			p.t.Fatalf("not a JSON event: %q", l)
		}
		if match(e) {
			found = e
			return true
		}
		if e.Kind == event.BuildFailed {
			p.t.Fatalf("build failed: %s", l)
		}
		passed = append(passed, e)
		return false
	})
	return found, passed
}

func statusCode(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var tokenRe = regexp.MustCompile(`^(http://[^/]+)/.*\?token=([0-9a-f]+)$`)

func containerFile(t testing.TB, eng *engine.Engine, name, p string) string {
	t.Helper()
	out, err := eng.ExecOK(context.Background(), name, "cat", p)
	if err != nil {
		t.Fatalf("reading %s in %s: %v", p, name, err)
	}
	return string(out)
}

func containerImage(t *testing.T, eng *engine.Engine, name string) (string, bool) {
	t.Helper()
	c, err := eng.Inspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Image, c.Running
}

// TestUpEndToEnd runs the real binary on a copy of the demo with the real
// Jupyter base image and checks the whole loop through its JSON events and
// the Engine API.
func TestUpEndToEnd(t *testing.T) {
	eng := needEngine(t)
	dir := copyDemo(t)
	up := startUp(t, dir, "--output", "json", "--deps", "rebuild") // the rebuild and replacement path; live installs: dockerctl/live_engine_test.go

	// 1. Jupyter answers with the token, and refuses without it.
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if m == nil {
		t.Fatalf("ready URL %q", ready.URL)
	}
	base, token := m[1], m[2]
	if code := statusCode(t, base+"/api/status", token); code != http.StatusOK {
		t.Fatalf("/api/status with the token: %d", code)
	}
	if code := statusCode(t, base+"/api/status", ""); code != http.StatusForbidden {
		t.Fatalf("/api/status without the token: %d", code)
	}
	name := ready.Container
	image1, _ := containerImage(t, eng, name)

	// 2. A source edit is synced, with no build.
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited by the test')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, passed := up.nextEvent(event.Sync, func(e event.Event) bool {
		return strings.Contains(strings.Join(e.Paths, " "), "train.py")
	})
	for _, e := range passed {
		if e.Kind == event.BuildStart {
			t.Errorf("a source edit started a build: %+v", e)
		}
	}
	if got := containerFile(t, eng, name, "/tf/train.py"); got != "print('edited by the test')\n" {
		t.Errorf("train.py in the container: %q", got)
	}
	if img, _ := containerImage(t, eng, name); img != image1 {
		t.Errorf("the image changed after a sync: %s -> %s", image1, img)
	}

	// 4 (before 3). A notebook saved through Jupyter before the rebuild.
	nb := `{"type":"notebook","format":"json","content":{"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}}`
	req, _ := http.NewRequest(http.MethodPut, base+"/api/contents/notebooks/from-jupyter.ipynb", strings.NewReader(nb))
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || (resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK) {
		t.Fatalf("saving a notebook: %v %v", err, resp)
	}
	resp.Body.Close()

	// 3. A requirements edit (still installable offline) rebuilds from cache.
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(fmt.Sprintf("numpy==1.24.2\n# pinned for the seed article, run %d\n", time.Now().UnixNano())), 0o644); err != nil {
		t.Fatal(err)
	}
	start, _ := up.nextEvent(event.BuildStart, nil)
	if !strings.Contains(start.Reason, "requirements.txt") {
		t.Errorf("build reason %q", start.Reason)
	}
	_, steps := up.nextEvent(event.BuildDone, nil)
	states := map[string]event.StepState{}
	for _, e := range steps {
		if e.Kind == event.BuildStep {
			states[e.Instruction] = e.State
		}
	}
	if states["WORKDIR /tf"] != "cached" || states["FROM ${BASE}"] != "cached" {
		t.Errorf("base steps not from cache: %v", states)
	}
	if states["RUN --mount=type=cache,target=/root/.cache/pip pip install -r /tmp/requirements.txt"] != "done" {
		t.Errorf("the pip step did not run: %v", states)
	}
	up.nextEvent(event.Container, nil)
	ready2, _ := up.nextEvent(event.Ready, nil)
	if ready2.URL != ready.URL {
		t.Errorf("URL changed across the rebuild: %s -> %s", ready.URL, ready2.URL)
	}
	if code := statusCode(t, base+"/api/status", token); code != http.StatusOK {
		t.Fatalf("/api/status after the rebuild: %d", code)
	}
	image2, _ := containerImage(t, eng, ready2.Container)
	if image2 == image1 {
		t.Error("no new image after a requirements change")
	}

	// 4. The notebook is on the host and in the new container.
	if _, err := os.Stat(filepath.Join(dir, "notebooks", "from-jupyter.ipynb")); err != nil {
		t.Errorf("the notebook is not on the host: %v", err)
	}
	if code := statusCode(t, base+"/api/contents/notebooks/from-jupyter.ipynb", token); code != http.StatusOK {
		t.Errorf("the notebook is not in the new container: %d", code)
	}

	// 5. A broken Dockerfile line: build.failed names it; the old container serves.
	df := filepath.Join(dir, "Dockerfile")
	orig, _ := os.ReadFile(df)
	broken := strings.Replace(string(orig), "WORKDIR /tf", "WORKDIR /tf\nCOPPY nothing /x", 1)
	if err := os.WriteFile(df, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	failed, _ := up.nextEvent(event.BuildFailed, nil)
	if failed.Line != 6 || failed.File != "Dockerfile" {
		t.Errorf("build.failed at %s:%d: %s", failed.File, failed.Line, failed.Message)
	}
	if code := statusCode(t, base+"/api/status", token); code != http.StatusOK {
		t.Errorf("the old container stopped answering after a failed build: %d", code)
	}

	// 6. SIGTERM: exit 0, the container stopped.
	if err := up.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Stop, nil)
	select {
	case err := <-up.done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("tfdev did not exit after SIGTERM")
	}
	if _, running := containerImage(t, eng, ready2.Container); running {
		t.Error("the container is still running after SIGTERM")
	}

	// 7. From the first line to the last, no wait went by without a
	// visible phase.
	silent, err := silentWaits(up.seen)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range silent {
		t.Error(s)
	}
}
