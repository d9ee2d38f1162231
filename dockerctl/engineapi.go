package dockerctl

import (
	"context"
	"net"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// engine is what the session asks of the Engine: the only calls it makes.
// *Engine is the real one; the session's tests use a recording fake.
type enginePort interface {
	Addr() string
	Version() string
	Capabilities(ctx context.Context) (model.GPUSupport, string, error)
	ImageWorkdir(ctx context.Context, ref string) string
	ImageServedDir(ctx context.Context, ref string) string
	ImagePresent(ctx context.Context, ref string) bool
	Pull(ctx context.Context, ref string, progress func(model.PullProgress)) (int64, error)
	Ping(ctx context.Context) error
	Deaths(ctx context.Context, dir string, since time.Time) (<-chan model.Death, <-chan error)

	Build(ctx context.Context, opts engine.BuildOptions) (*model.BuildResult, error)
	TagImage(ctx context.Context, id, ref string) error
	RemoveImage(ctx context.Context, ref string, force bool) error
	ProjectImages(ctx context.Context, dir string) ([]model.ProjectImage, error)

	ProjectContainers(ctx context.Context, dir string) ([]string, error)
	Find(ctx context.Context, dir string) (*model.Container, error)
	Inspect(ctx context.Context, id string) (*model.Container, error)
	Create(ctx context.Context, o model.RunOptions) (*model.Container, error)
	Start(ctx context.Context, c *model.Container) error
	Resume(ctx context.Context, c *model.Container) error
	Stop(ctx context.Context, id string) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, name string) error
	WaitJupyter(ctx context.Context, c *model.Container, timeout time.Duration) (string, error)
	ProbeJupyter(ctx context.Context, c *model.Container) error
	LastLogs(ctx context.Context, id string, n int) ([]string, error)

	Sync(ctx context.Context, id, hostDir string, items []watcher.SyncItem, ledger *model.Ledger) (model.SyncResult, error)
	ExecOK(ctx context.Context, id string, cmd ...string) ([]byte, error)
	ExecStream(ctx context.Context, id string, spec model.ExecSpec, line func(string)) (int, error)
	ImageUser(ctx context.Context, ref string) string
	PlaceAutoreload(ctx context.Context, id string, paths []string) (string, bool, error)
	RunningKernels(ctx context.Context, c *model.Container) ([]string, error)
	DialJupyter(ctx context.Context, id string, port int) (net.Conn, error)
	Reconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.SyncResult, error)
	PlanReconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.ReconcileWork, error)
	Rescue(ctx context.Context, c *model.Container, hostDir string, rules watcher.Rules, ledger *model.Ledger) ([]model.Rescued, error)
	PullHome(ctx context.Context, id, hostDir string, rules watcher.Rules, sums map[string]string, ledger *model.Ledger, progress engine.Progress) ([]model.Rescued, error)
	Prepare(ctx context.Context, id, hostDir string, ledger *model.Ledger) error
	ServedDir(ctx context.Context, c *model.Container) string
	WatchContainer(ctx context.Context, id string, roots []string) (containerWatch, error)
}

var _ enginePort = engineAPI{}

// engineAPI is *Engine as the session's engine: the same calls, with the
// container watch as an interface.
type engineAPI struct{ *engine.Engine }

func (e engineAPI) WatchContainer(ctx context.Context, id string, roots []string) (containerWatch, error) {
	w, err := e.Engine.WatchContainer(ctx, id, roots)
	if err != nil {
		return nil, err // not a nil *ContainerWatch in an interface
	}
	return w, nil
}
