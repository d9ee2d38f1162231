package dockerctl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

type sessionRun struct {
	t      *testing.T
	events chan event.Event
	seen   []event.Event
	cancel context.CancelFunc
	done   chan error
}

func startSession(t *testing.T, dir string, keep bool) *sessionRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &sessionRun{t: t, events: make(chan event.Event, 4096), cancel: cancel, done: make(chan error, 1)}
	s := NewSession(testEngine, SessionOptions{
		Dir: dir, BuildArgs: map[string]string{"BASE": testimage.Busybox}, Port: 0, GPUs: "auto", Keep: keep,
		ReadyTimeout: 20 * time.Second,
		Emit:         func(e event.Event) { r.events <- e },
	})
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if t.Failed() {
			for _, e := range r.seen {
				t.Log(e.Plain())
			}
		}
	})
	return r
}

// wait returns the next event of a kind for which ok holds, failing after a
// generous deadline.
func (r *sessionRun) wait(kind event.Kind, ok func(event.Event) bool) event.Event {
	r.t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case e := <-r.events:
			r.seen = append(r.seen, e)
			if e.Kind == kind && (ok == nil || ok(e)) {
				return e
			}
		case err := <-r.done:
			r.t.Fatalf("the session ended (%v) before %s", err, kind)
		case <-deadline:
			r.t.Fatalf("no %s event", kind)
		}
	}
}

func (r *sessionRun) count(kind event.Kind) int {
	n := 0
	for _, e := range r.seen {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func standInProject(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "requirements.txt", "setup.cfg", "train.py"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "standin", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, string(b))
	}
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\n# "+nonce(t)+"\n")
	t.Cleanup(func() {
		ids, _ := testEngine.ProjectContainers(context.Background(), dir)
		for _, id := range ids {
			testEngine.Remove(context.Background(), id)
		}
		imgs, _ := testEngine.API().ImageList(context.Background(), image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", model.ImageRepo(dir)))})
		for _, im := range imgs {
			testEngine.API().ImageRemove(context.Background(), im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
	return dir
}

// Rebuild triggers that arrive while a build runs make one follow-up
// build, never a queue; source edits keep syncing meanwhile.
func TestSessionCoalescesRebuilds(t *testing.T) {
	requireEngine(t)
	dir := standInProject(t)
	r := startSession(t, dir, false)
	r.wait(event.Ready, nil)

	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\nscipy==1.10.1\n# "+nonce(t)+"\n")
	r.wait(event.BuildStep, func(e event.Event) bool { return strings.HasPrefix(e.Instruction, "RUN cat") && e.State == "running" })
	// The build runs for three seconds: two more triggers and a source edit.
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\nscipy==1.10.1\npandas==1.5.3\n# "+nonce(t)+"\n")
	writeFile(t, dir, "train.py", "print('during the build')\n")
	r.wait(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "train.py") })
	writeFile(t, dir, "setup.cfg", "[metadata]\nname = demo\n")
	r.wait(event.BuildDone, nil) // the second build

	follow := r.wait(event.BuildStart, nil)
	if !strings.Contains(follow.Reason, "requirements.txt") || !strings.Contains(follow.Reason, "setup.cfg") {
		t.Errorf("follow-up reason %q", follow.Reason)
	}
	r.wait(event.BuildDone, nil)
	r.wait(event.Ready, nil)
	// Everything the loop had to do before this marker's batch is done.
	writeFile(t, dir, "marker.py", "")
	r.wait(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "marker.py") })
	if n := r.count(event.BuildStart); n != 3 {
		t.Errorf("%d builds, want 3 (start, the change, one follow-up)", n)
	}
	c, err := testEngine.Find(context.Background(), dir)
	if err != nil || c == nil {
		t.Fatalf("no container: %v", err)
	}
	if got := sh(t, c.ID, "cat /app/train.py; cat /app/setup.cfg | tail -1"); got != "print('during the build')\nname = demo" {
		t.Errorf("the new container has %q", got)
	}
}

// A container that dies is restarted without a rebuild; after three deaths
// within a minute tfdev stops restarting it and says so.
func TestSessionRestartsACrashedContainer(t *testing.T) {
	requireEngine(t)
	dir := standInProject(t)
	r := startSession(t, dir, false)
	ready := r.wait(event.Ready, nil)
	builds := r.count(event.BuildStart)
	for i := 1; i <= 3; i++ {
		if err := testEngine.API().ContainerKill(context.Background(), ready.Container, "KILL"); err != nil {
			t.Fatal(err)
		}
		exit := r.wait(event.ContainerEnd, nil)
		if exit.Code == nil || *exit.Code != 137 {
			t.Errorf("exit code %v, want 137", exit.Code)
		}
		if i < 3 {
			start := r.wait(event.Container, nil)
			if !strings.Contains(start.Message, "restarted after exit code 137") {
				t.Errorf("restart message %q", start.Message)
			}
			r.wait(event.Ready, nil)
		}
	}
	halted := r.wait(event.Error, func(e event.Event) bool { return strings.Contains(e.Message, "not restarting") })
	if !strings.Contains(halted.Message, "3 times") {
		t.Errorf("message %q", halted.Message)
	}
	if r.count(event.BuildStart) != builds {
		t.Error("a crash caused a rebuild")
	}
}

// With --keep the container survives tfdev; the next run reattaches to it
// without replacing it, and without --keep it is stopped at exit.
func TestSessionReattaches(t *testing.T) {
	requireEngine(t)
	dir := standInProject(t)
	first := startSession(t, dir, true)
	ready := first.wait(event.Ready, nil)
	first.cancel()
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}
	first.done <- nil // for the cleanup
	c, err := testEngine.Find(context.Background(), dir)
	if err != nil || c == nil {
		t.Fatalf("--keep: no running container (%v)", err)
	}

	// Edited in the container while tfdev was away (in Jupyter, say): the
	// edit is kept and comes home. (A host edit would change the context,
	// so the image would no longer be current: a replacement, not this.)
	sh(t, c.ID, "echo in-container > /app/train.py")
	second := startSession(t, dir, false)
	start := second.wait(event.Container, nil)
	second.wait(event.Ready, nil)
	if !strings.HasPrefix(start.Message, "reattached") || start.Container != ready.Container {
		t.Errorf("second run: %s %q", start.Container, start.Message)
	}
	if again, _ := testEngine.Find(context.Background(), dir); again == nil || again.ID != c.ID {
		t.Errorf("the container was replaced: %+v", again)
	}
	if got := sh(t, c.ID, "cat /app/train.py"); got != "in-container" {
		t.Errorf("container after reattach: %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "train.py")); string(b) != "in-container\n" {
		t.Errorf("host train.py: %q", b)
	}
	second.cancel()
	if err := <-second.done; err != nil {
		t.Fatal(err)
	}
	second.done <- nil
	insp, err := testEngine.API().ContainerInspect(context.Background(), c.ID)
	if err != nil || insp.State.Running {
		t.Errorf("without --keep the container should be stopped: %v", err)
	}
}

// The loop never goes deaf: a Dockerfile edit replaces the container, and
// while the replacement waits for the new container's (slow) Jupyter, a
// source edit is synced into the container that serves, then found in the
// new one once it takes over.
func TestSessionSyncsWhileAReplacementWaits(t *testing.T) {
	requireEngine(t)
	dir := standInProject(t)
	r := startSession(t, dir, false)
	r.wait(event.Ready, nil)

	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(df), `CMD ["httpd", "-f", "-p", "8888", "-h", "/www"]`, `CMD ["sh", "-c", "sleep 8; exec httpd -f -p 8888 -h /www"]`, 1)
	writeFile(t, dir, "Dockerfile", slow)
	r.wait(event.Phase, func(e event.Event) bool {
		return e.Message == "replacing: waiting for the new container's Jupyter" && e.State == event.StepRunning
	})
	saved := time.Now()
	writeFile(t, dir, "train.py", "print('during the replacement')\n")
	r.wait(event.Sync, func(e event.Event) bool { return len(e.Paths) == 1 && e.Paths[0] == "train.py" })
	t.Logf("the edit reached the serving container %v after the save, during the replacement", time.Since(saved).Round(time.Millisecond))
	if n := r.count(event.Container); n != 1 {
		t.Fatalf("the sync came after the replacement (%d container events)", n)
	}
	r.wait(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "replaced") })
	r.wait(event.Ready, nil)
	c, err := testEngine.Find(context.Background(), dir)
	if err != nil || c == nil {
		t.Fatalf("the new container: %v", err)
	}
	if got := sh(t, c.ID, "cat /app/train.py"); got != "print('during the replacement')" {
		t.Errorf("the new container has %q", got)
	}
}
