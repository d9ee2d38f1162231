package dockerctl

import (
	"context"
	"net"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The executor's ports: what it asks of the Engine, one role each, none
// over a dozen calls. *engine.Engine fills every role; the tests' recording
// fake fills them too. A second engine fills the same roles: Podman through
// the same adapter, a Kubernetes pod with files and exec over the pod's
// exec and Jupyter over a port-forward, without touching the loop.

// infoPort: who the Engine is, what it can do, and whether it answers.
type infoPort interface {
	Addr() string
	Name() string // "Podman 4.3.1 (rootful)", "Docker Engine 28.5.1"
	Podman() bool // Podman's API service: Buildah builds, CDI GPUs
	Version() string
	Capabilities(ctx context.Context) (model.GPUSupport, string, error)
	Ping(ctx context.Context) error
	Deaths(ctx context.Context, dir string, since time.Time) (<-chan model.Death, <-chan error)
}

// imagePort: building, pulling, tagging and pruning the project's images,
// and what an image says of itself.
type imagePort interface {
	Build(ctx context.Context, opts model.BuildOptions) (*model.BuildResult, error)
	Pull(ctx context.Context, ref string, progress func(model.PullProgress)) (int64, error)
	TagImage(ctx context.Context, id, ref string) error
	RemoveImage(ctx context.Context, ref string, force bool) error
	ProjectImages(ctx context.Context, dir string) ([]model.ProjectImage, error)
	ImagePresent(ctx context.Context, ref string) bool
	ImageWorkdir(ctx context.Context, ref string) string
	ImageServedDir(ctx context.Context, ref string) string
	ImageUser(ctx context.Context, ref string) string
	ImageCommand(ctx context.Context, ref string) []string
	JupyterIn(ctx context.Context, ref string) (string, error)
	SyncCovers(ctx context.Context, running, built string, tail int) (bool, error)
}

// containerPort: the project's containers and their lifecycle.
type containerPort interface {
	ProjectContainers(ctx context.Context, dir string) ([]string, error)
	Find(ctx context.Context, dir string) (*model.Container, error)
	Inspect(ctx context.Context, id string) (*model.Container, error)
	Create(ctx context.Context, o model.RunOptions) (*model.Container, error)
	Start(ctx context.Context, c *model.Container) error
	Resume(ctx context.Context, c *model.Container) error
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, name string) error
	LastLogs(ctx context.Context, id string, n int) ([]string, error)
}

// filePort: files both ways between the project and a container.
type filePort interface {
	Sync(ctx context.Context, id, hostDir string, items []watcher.SyncItem, ledger *model.Ledger) (model.SyncResult, error)
	Reconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.SyncResult, error)
	PlanReconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.ReconcileWork, error)
	Rescue(ctx context.Context, c *model.Container, hostDir string, rules watcher.Rules, ledger *model.Ledger) ([]model.Rescued, error)
	PullHome(ctx context.Context, id, hostDir string, rules watcher.Rules, sums map[string]string, ledger *model.Ledger, progress model.Progress) ([]model.Rescued, error)
	Prepare(ctx context.Context, id, hostDir string, ledger *model.Ledger) error
	WatchContainer(ctx context.Context, id string, roots []string) (containerWatch, error)
}

// containerWatch reports what is written in a container.
type containerWatch interface {
	Changes() <-chan map[string]string
	Done() <-chan struct{}
	Flush(ctx context.Context) (map[string]string, error)
	Close()
}

// execPort: commands in a running container.
type execPort interface {
	ExecOK(ctx context.Context, id string, cmd ...string) ([]byte, error)
	ExecStream(ctx context.Context, id string, spec model.ExecSpec, line func(string)) (int, error)
	PlaceAutoreload(ctx context.Context, id string, paths []string) (string, bool, error)
}

// jupyterPort: the container's Jupyter server.
type jupyterPort interface {
	WaitJupyter(ctx context.Context, c *model.Container, timeout time.Duration) (string, error)
	ProbeJupyter(ctx context.Context, c *model.Container) error
	Kernels(ctx context.Context, c *model.Container) ([]model.Kernel, error)
	CarryKernel(ctx context.Context, from, to *model.Container, k model.Kernel, o model.CarryOptions) (model.Carried, error)
	Signal(ctx context.Context, id string, files map[string]int64) error
	ReloadKernels(ctx context.Context, c *model.Container, files map[string]int64, each func(model.KernelReload)) error
	KernelImports(ctx context.Context, c *model.Container, packages []string) ([]model.KernelReload, error)
	DialJupyter(ctx context.Context, id string, port int) (net.Conn, error)
	ServedDir(ctx context.Context, c *model.Container) string
}

// ports is the Engine as the executor sees it: one value per role.
type ports struct {
	infoPort
	imagePort
	containerPort
	filePort
	execPort
	jupyterPort
}

// enginePorts fills every role with the Engine.
func enginePorts(e *engine.Engine) ports {
	return ports{infoPort: e, imagePort: e, containerPort: e, filePort: engineFiles{e}, execPort: e, jupyterPort: e}
}

// engineFiles is the Engine as the file port: the same calls, with the
// container watch as an interface.
type engineFiles struct{ *engine.Engine }

func (e engineFiles) WatchContainer(ctx context.Context, id string, roots []string) (containerWatch, error) {
	w, err := e.Engine.WatchContainer(ctx, id, roots)
	if err != nil {
		return nil, err // not a nil *ContainerWatch in an interface
	}
	return w, nil
}
