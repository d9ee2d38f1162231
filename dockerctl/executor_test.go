package dockerctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

func fakeExecutor(f *fakeEngine) *executor {
	return newExecutor(f.ports(), SessionOptions{}, model.GPUSupport{}, func(event.Event) {}, make(chan loop.Input, 16))
}

func started(t *testing.T, ins []loop.Input) loop.Started {
	t.Helper()
	for _, in := range ins {
		if st, ok := in.(loop.Started); ok {
			return st
		}
	}
	t.Fatalf("no inStarted in %v", ins)
	return loop.Started{}
}

// The order of a replacement is the promise: what the user made comes home
// from the old container while it serves; the new one is created (with the
// kept files), started, brought up to date and answering beside it; the
// saves made meanwhile come home; only then does the old one stop.
func TestExecutorReplaceOrder(t *testing.T) {
	f := newFakeEngine()
	p := testProject(t, loopDockerfile)
	old := &model.Container{ID: "old", Name: "tfdev-demo", HostPort: 8888, Token: "tok"}
	st := started(t, fakeExecutor(f).do(context.Background(), loop.Replace{Project: p, Old: old, Built: built("sha256:img2")}))
	want := "Rescue old; Create c1; Prepare c1; Start c1; PlaceAutoreload c1; Reconcile c1; WaitJupyter c1; Rescue old; Stop old; Remove old; Rename c1 tfdev-demo"
	if f.log() != want {
		t.Fatalf("calls:\n got %s\nwant %s", f.log(), want)
	}
	if st.Err != nil || st.C.ID != "c1" || st.C.Name != "tfdev-demo" || st.C.Token != "tok" {
		t.Errorf("result %+v", st)
	}
}

// A replacement that fails leaves the old container as it was: never
// stopped, serving.
func TestExecutorReplaceKeepsTheOld(t *testing.T) {
	for _, c := range []struct {
		failing, calls, says string
	}{
		{"Rescue", "Rescue old", "bringing home the files of the old container, which keeps serving"},
		{"Create", "Rescue old; Create c1", "creating"},
		{"Prepare", "Rescue old; Create c1; Prepare c1; Remove c1", "putting the kept files"},
		{"Start", "Rescue old; Create c1; Prepare c1; Start c1; Remove c1", "did not start; the old one keeps serving"},
		{"WaitJupyter", "Rescue old; Create c1; Prepare c1; Start c1; PlaceAutoreload c1; Reconcile c1; WaitJupyter c1; Remove c1", "did not become ready; the old one keeps serving"},
	} {
		t.Run(c.failing, func(t *testing.T) {
			f := newFakeEngine()
			f.fail[c.failing] = errors.New(c.says + " failed")
			p := testProject(t, loopDockerfile)
			old := &model.Container{ID: "old", Name: "tfdev-demo"}
			st := started(t, fakeExecutor(f).do(context.Background(), loop.Replace{Project: p, Old: old, Built: built("sha256:img2")}))
			if f.log() != c.calls {
				t.Errorf("calls:\n got %s\nwant %s", f.log(), c.calls)
			}
			if st.Err == nil || !strings.Contains(st.Err.Error(), c.says) || st.C != nil {
				t.Errorf("result %+v (err %v)", st, st.Err)
			}
		})
	}
	// Stopping the old one after the switch fails: the new one serves, and
	// the failure is said.
	f := newFakeEngine()
	f.fail["Stop"] = errors.New("stopping failed")
	ins := fakeExecutor(f).do(context.Background(), loop.Replace{Project: testProject(t, loopDockerfile), Old: &model.Container{ID: "old", Name: "tfdev-demo"}, Built: built("sha256:img2")})
	if st := started(t, ins); st.Err != nil || st.C == nil || len(ins) < 2 {
		t.Errorf("inputs %+v", ins)
	}
}

func TestExecutorRecover(t *testing.T) {
	p := testProject(t, loopDockerfile)
	c := &model.Container{ID: "c9", Name: "tfdev-demo", Image: "sha256:img1"}
	for _, tc := range []struct {
		name  string
		setup func(*fakeEngine)
		calls string
		input string
	}{
		{"running", func(f *fakeEngine) { f.setRunning("c9", true) }, "Inspect c9; WatchContainer c9", "loop.Recovered"}, // the watch ended with the connection
		{"stopped", func(f *fakeEngine) { f.setRunning("c9", false) }, "Inspect c9; Resume c9", "loop.Started"},
		{"gone", func(*fakeEngine) {}, "Inspect c9; Create c1; Prepare c1; Start c1; PlaceAutoreload c1", "loop.Started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEngine()
			tc.setup(f)
			ins := fakeExecutor(f).Apply(context.Background(), loop.Recover{Project: p, C: c, Built: built("sha256:img1")})
			if f.log() != tc.calls {
				t.Errorf("calls:\n got %s\nwant %s", f.log(), tc.calls)
			}
			if len(ins) != 1 || fmt.Sprintf("%T", ins[0]) != tc.input {
				t.Errorf("inputs %+v, want one %s", ins, tc.input)
			}
		})
	}
}

func TestExecutorStartRemovesWhatDidNotStart(t *testing.T) {
	f := newFakeEngine()
	f.fail["Start"] = errors.New("port is already allocated twice")
	st := started(t, fakeExecutor(f).Apply(context.Background(), loop.Start{Project: testProject(t, loopDockerfile), Built: built("sha256:img1")}))
	if st.Err == nil || f.log() != "Create c1; Prepare c1; Start c1; Remove c1" {
		t.Errorf("calls %s, err %v", f.log(), st.Err)
	}
}

// A stop right after the container's watch reported a save, before the loop
// brought it home: the stop brings it home.
func TestExecutorStopBringsHomeWhatTheLoopHadNotYet(t *testing.T) {
	f := newFakeEngine()
	async := make(chan loop.Input, 4)
	x := newExecutor(f.ports(), SessionOptions{}, model.GPUSupport{}, func(event.Event) {}, async)
	p := testProject(t, loopDockerfile)
	c := &model.Container{ID: "c9", Name: "tfdev-demo"}
	f.setRunning("c9", true)
	x.watch(context.Background(), p, c)
	f.watches[0].changes <- map[string]string{"/tf/saved.ipynb": "ab"}
	if in := <-async; in.(loop.ContainerChanged).Sums["/tf/saved.ipynb"] != "ab" {
		t.Fatalf("forwarded %+v", in)
	}
	ins := x.shutdown(loop.Shutdown{Project: p, C: c})
	if st := ins[0].(loop.Stopped); len(st.Rescued) != 1 || st.Rescued[0].From != "/tf/saved.ipynb" {
		t.Errorf("stop rescued %+v (calls %s)", st.Rescued, f.log())
	}
	if !strings.Contains(f.log(), "PullHome c9 1; Stop c9") {
		t.Errorf("calls %s", f.log())
	}
}

// A result that failed because the Engine is gone comes after an
// EngineState{Lost}, when a fresh connection fails too; one the Engine
// refused does not.
func TestExecutorSaysTheEngineIsGone(t *testing.T) {
	p := testProject(t, loopDockerfile)
	c := &model.Container{ID: "c1"}
	f := newFakeEngine()
	f.fail["Sync"] = errors.New("error during connect: Post \"http://%2Fvar%2Frun%2Fdocker.sock/v1.41/exec\": dial unix /var/run/docker.sock: connect: connection refused")
	f.fail["Ping"] = errors.New("dial unix /var/run/docker.sock: connect: connection refused") // a fresh connection fails too
	ins := fakeExecutor(f).Apply(context.Background(), loop.Sync{Project: p, C: c})
	if len(ins) != 2 || !ins[0].(loop.EngineState).Lost {
		t.Errorf("inputs %+v", ins)
	}
	// The Engine answers a fresh connection again by now: the failure
	// belongs to an outage that is over, and is no new loss.
	delete(f.fail, "Ping")
	if ins := fakeExecutor(f).Apply(context.Background(), loop.Sync{Project: p, C: c}); len(ins) != 1 {
		t.Errorf("a loss said after the Engine came back: %+v", ins)
	}
	f.fail["Sync"] = errors.New("Error response from daemon: container c1 is not running")
	if ins := fakeExecutor(f).Apply(context.Background(), loop.Sync{Project: p, C: c}); len(ins) != 1 {
		t.Errorf("inputs %+v", ins)
	}
}

// After a build serves, the project keeps its current image and the one
// before; older ones lose their tags (and go, unless a container holds
// them), and tfdev says how many went.
func TestExecutorPrunesOlderImages(t *testing.T) {
	f := newFakeEngine()
	f.images = []model.ProjectImage{
		{ID: "img3", Tags: []string{"tfdev/demo:latest", "tfdev/demo:img3"}},
		{ID: "img2", Tags: []string{"tfdev/demo:img2"}},
		{ID: "img1", Tags: []string{"tfdev/demo:img1"}},
		{ID: "img0", Tags: []string{"tfdev/demo:img0"}},
	}
	ins := fakeExecutor(f).Apply(context.Background(), loop.PruneImages{Project: testProject(t, loopDockerfile), Keep: []string{"img3", "img2"}})
	if got := f.log(); got != "ProjectImages; RemoveImage tfdev/demo:img1; RemoveImage tfdev/demo:img0" {
		t.Errorf("calls %s", got)
	}
	if len(ins) != 1 || ins[0].(loop.Pruned).Removed != 2 {
		t.Fatalf("inputs %+v", ins)
	}
}

// A replacement says each of its waits: no gap without a visible phase.
func TestExecutorReplaceSaysItsPhases(t *testing.T) {
	f := newFakeEngine()
	var phases []string
	x := newExecutor(f.ports(), SessionOptions{}, model.GPUSupport{}, func(e event.Event) {
		if e.Kind == event.Phase && e.State != event.StepDone {
			phases = append(phases, e.Message)
		}
	}, make(chan loop.Input, 16))
	x.do(context.Background(), loop.Replace{Project: testProject(t, loopDockerfile), Old: &model.Container{ID: "old", Name: "tfdev-demo"}, Built: built("sha256:img2")})
	want := []string{
		"replacing: bringing home what you made in the old container, which keeps serving",
		"replacing: creating and starting the new container",
		"replacing: waiting for the new container's Jupyter",
		"replacing: switched; stopping the old container",
	}
	if strings.Join(phases, "\n") != strings.Join(want, "\n") {
		t.Errorf("phases:\n%s", strings.Join(phases, "\n"))
	}
}

// One way to retire a container of an earlier run, for tfdev down and the
// start of tfdev up: what the user made comes home first (while it runs),
// then it stops and goes; when that fails it stays, so nothing is lost.
func TestRetireRescuesThenRemoves(t *testing.T) {
	p := testProject(t, loopDockerfile)
	f := newFakeEngine()
	f.setRunning("c5", true)
	if _, home, err := Retire(context.Background(), f, p, &model.Container{ID: "c5", Name: "tfdev-demo", Running: true}); err != nil || home {
		t.Fatalf("home %v, err %v", home, err)
	}
	if got := f.log(); got != "Rescue c5; Stop c5; Remove c5" {
		t.Errorf("calls %s", got)
	}
	f = newFakeEngine()
	f.fail["Rescue"] = errors.New("the disk is full")
	_, _, err := Retire(context.Background(), f, p, &model.Container{ID: "c6", Name: "tfdev-demo"})
	if err == nil || !strings.Contains(err.Error(), "the container tfdev-demo is kept so nothing is lost") {
		t.Errorf("err %v", err)
	}
	if got := f.log(); got != "Rescue c6" {
		t.Errorf("calls %s", got)
	}
}

// The folder flag of the Jupyter found: jupyter_server's for JupyterLab and
// Notebook 7, Notebook 6's for Notebook 6 (and an unknown version).
func TestRootFlag(t *testing.T) {
	for _, c := range []struct{ kind, version, want string }{
		{"lab", "", "--ServerApp.root_dir=/w"}, {"notebook", "7.2.1", "--ServerApp.root_dir=/w"},
		{"notebook", "6.4.12", "--notebook-dir=/w"}, {"notebook", "", "--notebook-dir=/w"},
	} {
		if got := rootFlag(c.kind, c.version, "/w"); got != c.want {
			t.Errorf("%s %s: %s", c.kind, c.version, got)
		}
	}
}

// A replacement carries the old container's kernels into the new one
// before the door switches, and the door maps the IDs pages know; a kernel
// whose variables cannot come still gets an empty kernel under its ID;
// --carry-kernels=false restarts them all as before.
func TestExecutorReplaceCarriesKernels(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fail     error
		noCarry  bool
		calls    string
		how      string
		said     event.Kind
		doorSays string // the ID pages know for the new kernel
	}{
		{name: "carried", calls: "WaitJupyter c1; Rescue old; Kernels old; CarryKernel k1 old>c1; Stop old",
			how: "kernels carried with their variables: 1 of 1", said: event.KernelCarried, doorSays: "k1"},
		{name: "restarted empty", fail: errors.New("writing its variables: boom"), calls: "WaitJupyter c1; Rescue old; Kernels old; CarryKernel k1 old>c1; Stop old",
			how: "kernels carried with their variables: 0 of 1 (the others start empty)", said: event.KernelRestarted, doorSays: "k1"},
		{name: "off", noCarry: true, calls: "WaitJupyter c1; Rescue old; Stop old", how: "kernels restarted: image changed", doorSays: "new-k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEngine()
			f.kernels = map[string][]model.Kernel{"old": {{ID: "k1", Name: "python3", State: "idle", Sessions: []model.KernelSession{{ID: "s1", Path: "a.ipynb"}}}}}
			if tc.fail != nil {
				f.fail["CarryKernel"] = tc.fail
			}
			var said []event.Event
			x := newExecutor(f.ports(), SessionOptions{NoCarry: tc.noCarry}, model.GPUSupport{}, func(e event.Event) {
				if e.Kind == event.KernelCarried || e.Kernel != "" {
					said = append(said, e)
				}
			}, make(chan loop.Input, 16))
			door, _, err := frontdoor.OpenFrontDoor("127.0.0.1", 0, "tok")
			if err != nil {
				t.Fatal(err)
			}
			defer door.Close()
			x.door = door
			old := &model.Container{ID: "old", Name: "tfdev-demo", HostPort: 8888, Token: "tok"}
			if err := x.switchDoor("", old, nil); err != nil {
				t.Fatal(err)
			}
			st := started(t, x.do(context.Background(), loop.Replace{Project: testProject(t, loopDockerfile), Old: old, Built: built("sha256:img2")}))
			if st.Err != nil || !strings.HasSuffix(st.How, tc.how) {
				t.Errorf("started: %q, %v", st.How, st.Err)
			}
			if !strings.Contains(f.log(), tc.calls) {
				t.Errorf("calls:\n%s\nwant, in order: %s", f.log(), tc.calls)
			}
			if got := door.Shown("new-k1"); got != tc.doorSays {
				t.Errorf("the door shows the new kernel as %q, want %q", got, tc.doorSays)
			}
			if tc.noCarry {
				if len(said) != 0 {
					t.Errorf("said %v", said)
				}
				return
			}
			if len(said) != 1 || said[0].Kind != tc.said || said[0].Kernel != "k1" {
				t.Fatalf("said %+v", said)
			}
			if tc.fail != nil && !strings.Contains(said[0].Text(), "boom; an empty kernel takes its place under its ID") {
				t.Errorf("said: %s", said[0].Text())
			}
			if tc.fail == nil && said[0].Text() != "kernel k1 carried into the new container: 1 name (28 B, 0ms, pickle)" {
				t.Errorf("said: %s", said[0].Text())
			}
		})
	}
}

// Kernels are carried side by side, and each is said, in the order the
// server listed them.
func TestExecutorCarriesEveryKernel(t *testing.T) {
	f := newFakeEngine()
	f.kernels = map[string][]model.Kernel{"old": {{ID: "k1", Name: "python3"}, {ID: "k2", Name: "python3"}, {ID: "k3", Name: "ir"}}}
	var said []string
	x := newExecutor(f.ports(), SessionOptions{}, model.GPUSupport{}, func(e event.Event) {
		if e.Kind == event.KernelCarried {
			said = append(said, e.Kernel)
		}
	}, make(chan loop.Input, 16))
	door, _, err := frontdoor.OpenFrontDoor("127.0.0.1", 0, "tok")
	if err != nil {
		t.Fatal(err)
	}
	defer door.Close()
	x.door = door
	old := &model.Container{ID: "old", Name: "tfdev-demo"}
	st := started(t, x.do(context.Background(), loop.Replace{Project: testProject(t, loopDockerfile), Old: old, Built: built("sha256:img2")}))
	if !strings.HasSuffix(st.How, "kernels carried with their variables: 3 of 3") || strings.Join(said, " ") != "k1 k2 k3" {
		t.Errorf("%q; said %v", st.How, said)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if door.Shown("new-"+k) != k {
			t.Errorf("the door shows new-%s as %s", k, door.Shown("new-"+k))
		}
	}
}

// A big sync (a branch switch) is a phase with its size: the wait is seen.
func TestExecutorSaysABigSync(t *testing.T) {
	f := newFakeEngine()
	var said []string
	x := newExecutor(f.ports(), SessionOptions{}, model.GPUSupport{}, func(e event.Event) {
		if e.Kind == event.Phase {
			said = append(said, string(e.State)+" "+e.Message)
		}
	}, make(chan loop.Input, 16))
	p := testProject(t, loopDockerfile)
	c := &model.Container{ID: "c1"}
	for _, n := range []int{10, 7000} {
		said = nil
		x.do(context.Background(), loop.Sync{Project: p, C: c, Items: make([]watcher.SyncItem, n)})
		want := ""
		if n == 7000 {
			want = "running syncing 7,000 changes|done syncing 7,000 changes"
		}
		if got := strings.Join(said, "|"); got != want {
			t.Errorf("%d items: %q, want %q", n, got, want)
		}
	}
	if thousands(1234567) != "1,234,567" || thousands(999) != "999" {
		t.Error(thousands(1234567), thousands(999))
	}
}
