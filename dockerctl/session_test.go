package dockerctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The session's wiring on a fake Engine: watcher → reducer → executor →
// events, with real files and no Docker.
func TestSessionWiringOnAFakeEngine(t *testing.T) {
	p := testProject(t, loopDockerfile)
	f := newFakeEngine()
	events := make(chan event.Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSession(f.ports(), SessionOptions{Dir: p.Dir, Port: 8888, Emit: func(e event.Event) { events <- e }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	next := eventWaiter(t, events, done, f)
	wait := func(kind event.Kind, ok func(event.Event) bool) event.Event {
		t.Helper()
		return next(string(kind), func(e event.Event) bool {
			if e.Time.IsZero() {
				t.Errorf("%s without a time", e.Kind)
			}
			return e.Kind == kind && (ok == nil || ok(e))
		})
	}
	wait(event.Watch, nil)
	wait(event.Ready, nil)

	// A source edit is synced into the container.
	if err := os.WriteFile(filepath.Join(p.Dir, "train.py"), []byte("print(2)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait(event.Sync, func(e event.Event) bool { return len(e.Paths) == 1 && e.Paths[0] == "train.py" })

	// A notebook saved in the container comes home.
	f.mu.Lock()
	watch := f.watches[0]
	f.mu.Unlock()
	watch.changes <- map[string]string{"/tf/new.ipynb": "ab"}
	wait(event.Rescue, func(e event.Event) bool { return e.From == "/tf/new.ipynb" })

	// The container dies: it is restarted (and watched again).
	watch.Close()
	f.deaths <- model.Death{ID: "c1", Code: 137, At: time.Now()}
	wait(event.ContainerEnd, nil)
	wait(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "restarted after exit code 137") })

	// The Engine's event stream breaks: lost, then back (the fake answers
	// the ping), and the container is checked.
	f.lost <- errors.New("unexpected EOF")
	wait(event.EngineLost, nil)
	wait(event.EngineBack, nil)

	// A rebuild request is a build.
	s.Requests() <- event.RequestRebuild
	wait(event.BuildStart, func(e event.Event) bool { return e.Reason == "requested" })
	wait(event.BuildDone, nil)

	cancel()
	wait(event.Stop, func(e event.Event) bool { return e.Message == "stopped container tfdev-fake" })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	log := f.log()
	for _, want := range []string{"Create c1; Prepare c1; Start c1", "WaitJupyter c1", "WatchContainer c1", "PlanReconcile c1", "Sync c1 1", "PullHome c1 1",
		"Resume c1", "Ping; Inspect c1", "PullHome c1 0; Stop c1"} {
		if !strings.Contains(log, want) {
			t.Errorf("calls lack %q:\n%s", want, log)
		}
	}
}

// The loop never goes deaf: while a replacement waits for the new
// container's Jupyter, batches, requests and the Engine's events are still
// taken. A source edit made then is synced into the container that serves
// at once, and into the new one once it takes over.
func TestSessionTakesEditsDuringAReplacement(t *testing.T) {
	p := testProject(t, loopDockerfile)
	f := newFakeEngine()
	release := make(chan struct{})
	f.hold = map[string]chan struct{}{"c2": release} // the new container's Jupyter answers when the test says
	events := make(chan event.Event, 256)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newSession(f.ports(), SessionOptions{Dir: p.Dir, Port: 0, Emit: func(e event.Event) { events <- e }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	wait := eventWaiter(t, events, done, f)
	wait("ready", func(e event.Event) bool { return e.Kind == event.Ready })

	// A new image: the replacement starts c2 and waits for its Jupyter.
	f.mu.Lock()
	f.image = "sha256:img2"
	f.mu.Unlock()
	s.Requests() <- event.RequestRebuild
	wait("the replacement's wait", func(e event.Event) bool {
		return e.Kind == event.Phase && e.Message == "replacing: waiting for the new container's Jupyter" && e.State == event.StepRunning
	})

	// Meanwhile: an edit is synced into c1, which serves; a request and
	// the Engine's loss and return are taken.
	if err := os.WriteFile(filepath.Join(p.Dir, "train.py"), []byte("print(3)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wait("the sync into c1", func(e event.Event) bool {
		return e.Kind == event.Sync && e.Container == "tfdev-fake" && len(e.Paths) == 1 && e.Paths[0] == "train.py"
	})
	s.Requests() <- event.RequestResync
	wait("the resync", func(e event.Event) bool {
		return e.Kind == event.Phase && strings.HasPrefix(e.Message, "comparing the project with the container (requested)")
	})
	f.lost <- errors.New("unexpected EOF")
	wait("engine.lost", func(e event.Event) bool { return e.Kind == event.EngineLost })
	wait("engine.back", func(e event.Event) bool { return e.Kind == event.EngineBack })
	if !strings.Contains(f.log(), "Sync c1 1") || strings.Contains(f.log(), "Sync c2") {
		t.Fatalf("calls: %s", f.log())
	}

	// The new container answers: it takes over, and gets the edit too.
	close(release)
	wait("the new container", func(e event.Event) bool {
		return e.Kind == event.Container && strings.HasPrefix(e.Message, "replaced c1")
	})
	wait("the sync into c2", func(e event.Event) bool {
		return e.Kind == event.Sync && len(e.Paths) == 1 && e.Paths[0] == "train.py" // after the switch: into c2, renamed tfdev-fake
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.log(), "Sync c2 1") {
		t.Errorf("the edit did not reach the new container: %s", f.log())
	}
}

// eventWaiter waits for the session's next event for which ok holds,
// failing when the session ends first or after a generous bound (not a
// timing assertion).
func eventWaiter(t *testing.T, events <-chan event.Event, done <-chan error, f *fakeEngine) func(what string, ok func(event.Event) bool) event.Event {
	return func(what string, ok func(event.Event) bool) event.Event {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case e := <-events:
				if ok(e) {
					return e
				}
			case err := <-done:
				t.Fatalf("the session ended before %s: %v", what, err)
			case <-deadline:
				t.Fatalf("no %s; calls: %s", what, f.log())
			}
		}
	}
}
