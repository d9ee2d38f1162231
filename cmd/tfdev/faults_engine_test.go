package main

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// sockProxy stands between tfdev and the Engine's socket, so that a test
// can cut the connection (as a daemon restart or a dropped ssh link does)
// and restore it.
type sockProxy struct {
	t      *testing.T
	path   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T) *sockProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "tfdev-proxy-") // short: a socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &sockProxy{t: t, path: filepath.Join(dir, "docker.sock"), target: "/var/run/docker.sock", conns: map[net.Conn]bool{}}
	p.restore()
	t.Cleanup(p.cut)
	return p
}

func (p *sockProxy) host() string { return "unix://" + p.path }

// restore listens again.
func (p *sockProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	os.Remove(p.path)
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.ln = ln
	go p.serve(ln)
}

func (p *sockProxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("unix", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *sockProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

// cut closes the listener and every connection through it.
func (p *sockProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

func getOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// The Engine goes away while the container is killed and a file is edited:
// tfdev says "engine lost", and once the Engine is back it restarts the
// container, sends the edit, serves again and says "engine back"; a kill
// after that is noticed too. Whenever tfdev says "ready", Jupyter answers.
func TestEngineLostAndBack(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	p := startProxy(t)
	up := startUpEnv(t, dir, testimage.Busybox, []string{"DOCKER_HOST=" + p.host()}, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	status := statusURL(ready)

	p.cut()
	up.nextEvent(event.EngineLost, nil)
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited while the Engine was away')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kill(t, ready.Container)
	p.restore()
	up.nextEvent(event.EngineBack, nil)
	again, _ := up.nextEvent(event.Ready, nil)
	// --port 0 lets the Engine pick a port at each start: read it again.
	status = statusURL(again)
	if !getOK(status) {
		t.Error("ready, yet Jupyter does not answer")
	}
	if got := containerFile(t, eng, again.Container, "/app/train.py"); got != "print('edited while the Engine was away')\n" {
		t.Errorf("train.py in the container: %q", got)
	}

	// A later kill is noticed, said, and the container restarted; no
	// "ready" while it does not answer.
	kill(t, again.Container)
	third, between := up.nextEvent(event.Ready, nil)
	if !getOK(statusURL(third)) {
		t.Error("ready again, yet Jupyter does not answer")
	}
	sawDown := false
	for _, e := range between {
		if e.Kind == event.ContainerEnd || e.Kind == event.Down {
			sawDown = true
		}
	}
	if !sawDown {
		t.Errorf("the kill was not said: %v", kinds(between))
	}
	up.stop()
}

// A cut during a build: the build is built again once the Engine is back.
func TestEngineLostDuringABuild(t *testing.T) {
	needEngine(t)
	dir := standInProject(t)
	p := startProxy(t)
	up := startUpEnv(t, dir, testimage.Busybox, []string{"DOCKER_HOST=" + p.host()}, "--output", "json")
	up.nextEvent(event.Ready, nil)
	// Content no earlier build had, so the RUN runs and is cut.
	req := fmt.Sprintf("numpy==1.24.2\n# changed at %d\n", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.BuildStep, func(e event.Event) bool {
		return strings.HasPrefix(e.Instruction, "RUN cat") && e.State == event.StepRunning
	})
	p.cut()
	up.nextEvent(event.EngineLost, nil)
	p.restore()
	start, passed := up.nextEvent(event.BuildStart, nil)
	if !strings.Contains(start.Reason, "again: the Engine went away") {
		t.Errorf("build reason %q", start.Reason)
	}
	for _, e := range passed {
		if e.Kind == event.BuildFailed {
			t.Errorf("a build the Engine's loss broke was reported as failed: %s", e.Plain())
		}
	}
	up.nextEvent(event.BuildDone, nil)
	up.nextEvent(event.Ready, nil)
	up.cmd.Process.Signal(syscall.SIGTERM)
	// --output json: what the signal says is a JSON event too (nextEvent
	// fails on any line that is not).
	up.nextEvent(event.Info, func(e event.Event) bool { return strings.HasPrefix(e.Message, "stopping: bringing your files home") })
	up.nextEvent(event.Stop, nil)
	waitExit(t, up)
	if out, _, code := tfdev(t, "status", "-C", dir); code != 0 || !strings.Contains(out, "(stopped; tfdev up starts it again, tfdev down brings its files home and removes it)") {
		t.Errorf("status of a stopped container: exit %d %q", code, out)
	}
}

// Rebuilds do not pile images up: the project keeps its current image and
// the one before.
func TestOlderImagesArePruned(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	up := startUpWith(t, dir, testimage.Busybox, "--output", "json", "--deps", "rebuild")
	up.nextEvent(event.Ready, nil)
	for i := 0; i < 3; i++ {
		req := fmt.Sprintf("numpy==1.24.2\n# rebuild %d at %d\n", i, time.Now().UnixNano())
		if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(req), 0o644); err != nil {
			t.Fatal(err)
		}
		up.nextEvent(event.BuildDone, nil)
		_, before := up.nextEvent(event.Ready, nil)
		pruned := func(e event.Event) bool {
			return e.Kind == event.Info && strings.HasPrefix(e.Message, "removed 1 older image(s) of the project")
		}
		if i == 2 && !slices.ContainsFunc(before, pruned) { // said before ready, or after
			up.nextEvent(event.Info, pruned)
		}
	}
	imgs, err := eng.ProjectImages(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 {
		t.Errorf("%d images after 4 builds, want 2: %+v", len(imgs), imgs)
	}
	up.stop()
}

// A cut of two minutes: tfdev keeps waiting, says so, and recovers.
func TestEngineLostForTwoMinutes(t *testing.T) {
	needEngine(t)
	if testing.Short() {
		t.Skip("two minutes without the Engine")
	}
	dir := standInProject(t)
	p := startProxy(t)
	up := startUpEnv(t, dir, testimage.Busybox, []string{"DOCKER_HOST=" + p.host()}, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	p.cut()
	lost, _ := up.nextEvent(event.EngineLost, nil)
	var said int
	for time.Since(lost.Time) < 2*time.Minute {
		up.nextEvent(event.Info, func(e event.Event) bool { return strings.Contains(e.Message, "still does not answer") })
		said++
	}
	p.restore()
	up.nextEvent(event.EngineBack, nil)
	if said < 3 {
		t.Errorf("said %d times that it still waits", said)
	}
	if !getOK(statusURL(ready)) {
		t.Error("Jupyter does not answer after the Engine came back")
	}
	up.stop()
}

// statusURL is the /api/status address of a ready event's Jupyter, with
// its token (the door lets nothing in without it).
func statusURL(ready event.Event) string {
	base, query, _ := strings.Cut(ready.URL, "/?")
	return base + "/api/status?" + query
}

func kinds(es []event.Event) []event.Kind {
	var out []event.Kind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

// kill kills a container through the real socket, as `docker kill` does.
func kill(t *testing.T, name string) {
	t.Helper()
	api, err := testimage.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if err := api.ContainerKill(context.Background(), name, "KILL"); err != nil {
		t.Fatal(err)
	}
}

// The fault tour's file scenarios, on the real binary: a burst of 500
// creates in nested new folders and 250 deletes, a folder rename, a symlink
// pointing out of the project (sent as a link, never followed) and a FIFO
// (refused, with a message). The container ends with exactly the host's
// files, md5 for md5.
func TestFileTour(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	up := startUpWith(t, dir, testimage.Busybox, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	for i := 0; i < 500; i++ {
		p := filepath.Join(dir, "burst", fmt.Sprintf("n%d", i%7), fmt.Sprintf("deep%d", i%3), fmt.Sprintf("f%d.py", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf("v = %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 500; i += 2 {
		os.Remove(filepath.Join(dir, "burst", fmt.Sprintf("n%d", i%7), fmt.Sprintf("deep%d", i%3), fmt.Sprintf("f%d.py", i)))
	}
	if err := os.Rename(filepath.Join(dir, "burst", "n3"), filepath.Join(dir, "burst", "renamed")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "outside.link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo, _ := up.nextEvent(event.Error, func(e event.Event) bool { return strings.Contains(e.Message, "pipe.fifo") })
	if !strings.Contains(fifo.Message, "not a regular file") {
		t.Errorf("the FIFO: %q", fifo.Message)
	}
	// A marker written last: once it is in, everything before it is.
	if err := os.WriteFile(filepath.Join(dir, "zz-marker.py"), []byte("done\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "zz-marker.py") })

	host := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() || strings.Contains(p, "/.tfdev/") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		host["/app/"+rel] = fmt.Sprintf("%x", md5.Sum(b))
		return nil
	})
	out, err := eng.ExecOK(context.Background(), ready.Container, "sh", "-c", "find /app -type f -exec md5sum {} +")
	if err != nil {
		t.Fatal(err)
	}
	container := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sum, p, ok := strings.Cut(l, "  "); ok {
			container[p] = sum
		}
	}
	if len(host) != len(container) {
		t.Errorf("%d files on the host, %d in the container", len(host), len(container))
	}
	for p, sum := range host {
		if container[p] != sum {
			t.Errorf("%s: host %s, container %q", p, sum, container[p])
		}
	}
	if got := containerFile(t, eng, ready.Container, "/app/burst/renamed/deep0/f3.py"); got != "v = 3\n" {
		t.Errorf("a file of the renamed folder: %q", got)
	}
	if link, err := eng.ExecOK(context.Background(), ready.Container, "readlink", "/app/outside.link"); err != nil || strings.TrimSpace(string(link)) != "/etc/passwd" {
		t.Errorf("the symlink: %q %v", link, err)
	}
	up.stop()
}

// A rebuild and replacement with no downtime: a client polling
// /api/status through tfdev's URL every 200 ms during the whole rebuild
// and replacement sees no failed request, and the URL stays the same.
func TestReplacementWithoutDowntime(t *testing.T) {
	needEngine(t)
	dir := standInProject(t)
	up := startUpWith(t, dir, testimage.Busybox, "--output", "json", "--deps", "rebuild")
	ready, _ := up.nextEvent(event.Ready, nil)
	status := statusURL(ready)
	stop := make(chan struct{})
	type tally struct{ ok, failed int }
	result := make(chan tally, 1)
	go func() {
		var n tally
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				result <- n
				return
			case <-tick.C:
				if getOK(status) {
					n.ok++
				} else {
					n.failed++
				}
			}
		}
	}()
	req := fmt.Sprintf("numpy==1.24.2\n# replaced at %d\n", time.Now().UnixNano())
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	started, _ := up.nextEvent(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "replaced ") })
	if !strings.Contains(started.Message, "; no kernel was running") {
		t.Errorf("container.start says %q", started.Message)
	}
	again, _ := up.nextEvent(event.Ready, nil)
	close(stop)
	n := <-result
	if n.failed != 0 || n.ok < 5 {
		t.Errorf("through the rebuild and replacement: %d requests answered, %d failed", n.ok, n.failed)
	}
	if again.URL != ready.URL {
		t.Errorf("the URL changed: %s -> %s", ready.URL, again.URL)
	}
	up.stop()
	silent, err := silentWaits(up.seen)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range silent {
		t.Error(s)
	}
}
