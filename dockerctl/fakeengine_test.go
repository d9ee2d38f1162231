package dockerctl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The fakes of the executor's ports, one per role, over one recording
// world: the calls made, in order, and the answers a test scripts. The
// pure tests of the executor and the session's wiring use them together
// (fakeEngine) or a role alone.
type fakeWorld struct {
	mu     sync.Mutex
	calls  []string
	fail   map[string]error // by method name: the error it returns
	next   int              // container numbering
	state  map[string]bool  // container ID -> running; absent: gone
	deaths chan model.Death
	lost   chan error
	images []model.ProjectImage
	// watches are the container watches started, in order.
	watches []*fakeWatch
	// image is what Build makes ("" sha256:img1).
	image string
	// syncCovers is SyncCovers' answer.
	syncCovers bool
	// hold makes WaitJupyter on a container wait until its channel closes.
	hold map[string]chan struct{}
	// reconcileWork is what PlanReconcile finds.
	reconcileWork model.ReconcileWork
	// kernels are the kernels each container's Jupyter runs.
	kernels map[string][]model.Kernel
}

type (
	fakeInfo       struct{ *fakeWorld }
	fakeImages     struct{ *fakeWorld }
	fakeContainers struct{ *fakeWorld }
	fakeFiles      struct{ *fakeWorld }
	fakeExec       struct{ *fakeWorld }
	fakeJupyter    struct{ *fakeWorld }
)

var (
	_ infoPort      = (*fakeInfo)(nil)
	_ imagePort     = (*fakeImages)(nil)
	_ containerPort = (*fakeContainers)(nil)
	_ filePort      = (*fakeFiles)(nil)
	_ execPort      = (*fakeExec)(nil)
	_ jupyterPort   = (*fakeJupyter)(nil)
)

// fakeEngine is every role's fake over one world.
type fakeEngine struct {
	*fakeWorld
	fakeInfo
	fakeImages
	fakeContainers
	fakeFiles
	fakeExec
	fakeJupyter
}

func newFakeEngine() *fakeEngine {
	w := &fakeWorld{fail: map[string]error{}, state: map[string]bool{}, deaths: make(chan model.Death, 4), lost: make(chan error, 1)}
	return &fakeEngine{w, fakeInfo{w}, fakeImages{w}, fakeContainers{w}, fakeFiles{w}, fakeExec{w}, fakeJupyter{w}}
}

// ports is the fake in every role.
func (f *fakeEngine) ports() ports {
	return ports{&f.fakeInfo, &f.fakeImages, &f.fakeContainers, &f.fakeFiles, &f.fakeExec, &f.fakeJupyter}
}

func (f *fakeWorld) record(format string, a ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf(format, a...)
	f.calls = append(f.calls, call)
	name, _, _ := strings.Cut(call, " ")
	return f.fail[name]
}

func (f *fakeWorld) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "; ")
}

func (f *fakeInfo) Addr() string { return "fake://engine" }

func (f *fakeInfo) Name() string { return "Fake Engine 1.0" }

func (f *fakeInfo) Podman() bool { return false }

func (f *fakeInfo) Version() string { return "1.41" }

func (f *fakeInfo) Capabilities(context.Context) (model.GPUSupport, string, error) {
	return model.GPUSupport{Why: "no GPU: fake"}, "linux/amd64", f.record("Capabilities")
}

func (f *fakeImages) ImageWorkdir(context.Context, string) string { return "/tf" }

func (f *fakeImages) ImageServedDir(context.Context, string) string { return "/tf" }

func (f *fakeImages) ImagePresent(context.Context, string) bool { return true }

func (f *fakeImages) Pull(context.Context, string, func(model.PullProgress)) (int64, error) {
	return 0, nil
}

func (f *fakeInfo) Ping(context.Context) error { return f.record("Ping") }

func (f *fakeInfo) Deaths(context.Context, string, time.Time) (<-chan model.Death, <-chan error) {
	return f.deaths, f.lost
}

func (f *fakeImages) Build(_ context.Context, o model.BuildOptions) (*model.BuildResult, error) {
	if err := f.record("Build"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	image := cmp.Or(f.image, "sha256:img1")
	f.mu.Unlock()
	return &model.BuildResult{ImageID: image, Builder: model.BuilderBuildKit}, nil
}

func (f *fakeImages) TagImage(_ context.Context, id, ref string) error {
	return f.record("TagImage %s", ref)
}

func (f *fakeImages) RemoveImage(_ context.Context, ref string, _ bool) error {
	return f.record("RemoveImage %s", ref)
}

func (f *fakeContainers) ProjectContainers(context.Context, string) ([]string, error) {
	return nil, f.record("ProjectContainers")
}

func (f *fakeContainers) Find(context.Context, string) (*model.Container, error) {
	return nil, f.record("Find")
}

func (f *fakeContainers) Inspect(_ context.Context, id string) (*model.Container, error) {
	if err := f.record("Inspect %s", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	running, ok := f.state[id]
	if !ok {
		return nil, errors.New("No such container: " + id)
	}
	return &model.Container{ID: id, Name: id, Image: "sha256:img1", Running: running}, nil
}

func (f *fakeContainers) Create(_ context.Context, o model.RunOptions) (*model.Container, error) {
	f.mu.Lock()
	f.next++
	id := fmt.Sprintf("c%d", f.next)
	f.mu.Unlock()
	if err := f.record("Create %s", id); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.state[id] = false
	f.mu.Unlock()
	name := o.Name
	if name == "" {
		name = "tfdev-fake"
	}
	return &model.Container{ID: id, Name: name, Image: o.Image, HostIP: "127.0.0.1", HostPort: o.HostPort, Token: o.Token}, nil
}

func (f *fakeWorld) setRunning(id string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state[id] = running
}

func (f *fakeContainers) Start(_ context.Context, c *model.Container) error {
	if err := f.record("Start %s", c.ID); err != nil {
		return err
	}
	f.setRunning(c.ID, true)
	return nil
}

func (f *fakeContainers) Resume(_ context.Context, c *model.Container) error {
	if err := f.record("Resume %s", c.ID); err != nil {
		return err
	}
	f.setRunning(c.ID, true)
	return nil
}

func (f *fakeContainers) Stop(_ context.Context, id string) error {
	if err := f.record("Stop %s", id); err != nil {
		return err
	}
	f.setRunning(id, false)
	return nil
}

func (f *fakeContainers) Remove(_ context.Context, id string) error {
	if err := f.record("Remove %s", id); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.state, id)
	return nil
}

func (f *fakeContainers) Rename(_ context.Context, id, name string) error {
	return f.record("Rename %s %s", id, name)
}

func (f *fakeJupyter) WaitJupyter(ctx context.Context, c *model.Container, _ time.Duration) (string, error) {
	err := f.record("WaitJupyter %s", c.ID)
	f.mu.Lock()
	held := f.hold[c.ID]
	f.mu.Unlock()
	if held != nil {
		select {
		case <-held:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	return c.URL(), err
}

func (f *fakeContainers) LastLogs(context.Context, string, int) ([]string, error) {
	return []string{"last line"}, nil
}

func (f *fakeFiles) Sync(_ context.Context, id, _ string, items []watcher.SyncItem, _ *model.Ledger) (model.SyncResult, error) {
	return model.SyncResult{Files: len(items)}, f.record("Sync %s %d", id, len(items))
}

func (f *fakeFiles) Reconcile(_ context.Context, id, _ string, _ watcher.Rules, _ []string, _ *model.Ledger) (model.SyncResult, error) {
	return model.SyncResult{}, f.record("Reconcile %s", id)
}

func (f *fakeExec) ExecOK(_ context.Context, id string, cmd ...string) ([]byte, error) {
	return nil, f.record("ExecOK %s %s", id, strings.Join(cmd, " "))
}

func (f *fakeExec) ExecStream(_ context.Context, id string, spec model.ExecSpec, line func(string)) (int, error) {
	line("ran " + strings.Join(spec.Cmd, " "))
	return 0, f.record("ExecStream %s %s", id, strings.Join(spec.Cmd, " "))
}

func (f *fakeExec) PlaceAutoreload(_ context.Context, id string, paths []string) (string, bool, error) {
	return "/root/.ipython/profile_default/startup/" + engine.AutoreloadFile, false, f.record("PlaceAutoreload %s", id)
}

func (f *fakeJupyter) Kernels(_ context.Context, c *model.Container) ([]model.Kernel, error) {
	err := f.record("Kernels %s", c.ID)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.kernels[c.ID], err
}

// CarryKernel carries k as kernel "new-<k>" of to: its sessions too, and
// the one variable "x", unless the method is told to fail.
func (f *fakeJupyter) CarryKernel(_ context.Context, from, to *model.Container, k model.Kernel, _ model.CarryOptions) (model.Carried, error) {
	err := f.record("CarryKernel %s %s>%s", k.ID, from.ID, to.ID)
	c := model.Carried{Old: k.ID, New: "new-" + k.ID, Name: k.Name, Sessions: map[string]string{}}
	for _, s := range k.Sessions {
		c.Sessions[s.ID] = "new-" + s.ID
	}
	if err != nil {
		return c, err
	}
	c.Names, c.Bytes, c.Pickler = []string{"x"}, 28, "pickle"
	return c, nil
}

// ReloadKernels answers for each kernel of c: every file's module
// reloaded.
func (f *fakeJupyter) ReloadKernels(_ context.Context, c *model.Container, files map[string]int64, each func(model.KernelReload)) error {
	names := slices.Sorted(maps.Keys(files))
	err := f.record("ReloadKernels %s %s", c.ID, strings.Join(names, ","))
	f.mu.Lock()
	ks := f.kernels[c.ID]
	f.mu.Unlock()
	for _, k := range ks {
		r := model.KernelReload{Kernel: k.ID}
		for _, p := range names {
			r.Reloaded = append(r.Reloaded, strings.TrimSuffix(filepath.Base(p), ".py"))
		}
		each(r)
	}
	return err
}

func (f *fakeJupyter) Signal(_ context.Context, id string, files map[string]int64) error {
	return f.record("Signal %s %s", id, strings.Join(slices.Sorted(maps.Keys(files)), ","))
}

func (f *fakeJupyter) KernelImports(_ context.Context, c *model.Container, packages []string) ([]model.KernelReload, error) {
	return nil, f.record("KernelImports %s %s", c.ID, strings.Join(packages, ","))
}

func (f *fakeJupyter) DialJupyter(_ context.Context, id string, _ int) (net.Conn, error) {
	return nil, f.record("DialJupyter %s", id)
}

func (f *fakeImages) ImageUser(_ context.Context, ref string) string { return "" }

func (f *fakeFiles) PlanReconcile(_ context.Context, id, _ string, _ watcher.Rules, _ []string, _ *model.Ledger) (model.ReconcileWork, error) {
	f.mu.Lock()
	w := f.reconcileWork
	f.mu.Unlock()
	return w, f.record("PlanReconcile %s", id)
}

func (f *fakeFiles) Rescue(_ context.Context, c *model.Container, _ string, _ watcher.Rules, _ *model.Ledger) ([]model.Rescued, error) {
	return nil, f.record("Rescue %s", c.ID)
}

func (f *fakeFiles) PullHome(_ context.Context, id, dir string, _ watcher.Rules, sums map[string]string, _ *model.Ledger, _ model.Progress) ([]model.Rescued, error) {
	var out []model.Rescued
	for p := range sums {
		out = append(out, model.Rescued{From: p, To: filepath.Join(dir, engine.KeptDir, p), Kept: true})
	}
	return out, f.record("PullHome %s %d", id, len(sums))
}

func (f *fakeFiles) Prepare(_ context.Context, id, _ string, _ *model.Ledger) error {
	return f.record("Prepare %s", id)
}

func (f *fakeJupyter) ServedDir(_ context.Context, c *model.Container) string { return "/tf" }

func (f *fakeFiles) WatchContainer(_ context.Context, id string, _ []string) (containerWatch, error) {
	if err := f.record("WatchContainer %s", id); err != nil {
		return nil, err
	}
	w := &fakeWatch{changes: make(chan map[string]string, 4), done: make(chan struct{})}
	f.mu.Lock()
	f.watches = append(f.watches, w)
	f.mu.Unlock()
	return w, nil
}

// fakeWatch is a container watch a test feeds by hand.
type fakeWatch struct {
	changes chan map[string]string
	done    chan struct{}
	once    sync.Once
}

func (w *fakeWatch) Changes() <-chan map[string]string { return w.changes }

func (w *fakeWatch) Done() <-chan struct{} { return w.done }

func (w *fakeWatch) Flush(context.Context) (map[string]string, error) {
	return map[string]string{}, nil
}

func (w *fakeWatch) Close() { w.once.Do(func() { close(w.done) }) }

func (f *fakeJupyter) ProbeJupyter(_ context.Context, c *model.Container) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail["ProbeJupyter"] // not recorded: it runs every few seconds
}

func (f *fakeImages) ProjectImages(context.Context, string) ([]model.ProjectImage, error) {
	return f.images, f.record("ProjectImages")
}

func (f *fakeImages) SyncCovers(_ context.Context, running, built string, _ int) (bool, error) {
	return f.syncCovers, f.record("SyncCovers %s %s", running, built)
}

// ImageCommand: the fake's images start Jupyter.
func (f *fakeImages) ImageCommand(context.Context, string) []string {
	return []string{"jupyter", "notebook", "--notebook-dir=/tf"}
}

func (f *fakeImages) JupyterIn(_ context.Context, ref string) (string, error) {
	return "notebook", f.record("JupyterIn %s", ref)
}
