package loop

import (
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// input is something that happened: one of the in* types.
type Input interface{ isInput() }

type (
	Adopted struct { // the project's containers from an earlier run: the running one (or nil), what was rescued from stopped ones
		Running *model.Container
		Live    string // the image running matches through live installs or syncs ("" none)
		Via     string // how
		// Conflicts an earlier session kept, not resolved yet.
		Conflicts []model.Conflict
		Rescued   []model.Rescued
		Errs      []error
	}
	Batch struct{ Batch watcher.Batch } // the watcher's changes, with the reloaded project
	Built struct {                      // a build ended
		Res     *model.BuildResult
		Err     error
		Project *dockerfile.Project
		Reason  string
		Seq     int
		// SyncCovers: the image differs from the Build's Against only in
		// files tfdev syncs.
		SyncCovers bool
	}
	Synced struct { // a sync (why == "") or a reconcile ended
		Res     model.SyncResult
		Err     error
		Paths   []string
		Line    int
		Why     string
		Modules []string
		Restart []string
		Files   []string
	}
	KernelReloaded struct { // a kernel of C answered a Reload
		C *model.Container
		model.KernelReload
	}
	Reconciled struct { // a reconcile's comparison ended: what to send and bring home
		C    *model.Container
		Work model.ReconcileWork
		Err  error
		Why  string
	}
	Started struct { // a container was started, reattached, restarted or replaced (or not: err)
		C          *model.Container
		How        string
		Err        error
		Old        *model.Container // replace: the container it replaces
		Rescued    []model.Rescued
		Synced     model.SyncResult
		Reconciled bool // the effect brought the files up to date already (a replacement)
		Cut        bool // the Engine's loss cut it short: worth doing again once it answers
	}
	Health struct { // Jupyter's readiness probe of a container ended
		C   *model.Container
		URL string
		Err error
	}
	Serving struct { // the front door sends users to c, and its watch is in place
		C   *model.Container
		URL string // the URL users open
	}
	Recovered struct{ C *model.Container } // after an Engine loss, c was found running
	Replayed  struct {                     // a live install ended
		C       *model.Container
		Changed []string
		Err     error                // a *ReplayError when a step failed
		Summary string               // what pip installed, in short
		Restart []string             // packages whose version changed under running kernels
		Kernels []model.KernelReload // per kernel, the modules it imported from them
	}
	Died struct { // a container of the project died
		model.Death
		Logs []string
	}
	Requested   struct{ Request event.Request }
	EngineState struct { // the Engine stopped answering, or answers again
		Lost bool
		Err  error
	}
	Failed           struct{ Err error } // a failure beside the loop's work (the watcher, the state file)
	Quit             struct{}            // Ctrl-C, SIGTERM, the watcher closed
	ContainerChanged struct {            // files were written in the container
		C    *model.Container
		Sums map[string]string
	}
	Probed struct { // Jupyter's answer to the periodic probe changed
		C   *model.Container
		Err error // nil: it answers again
		At  time.Time
	}
	Pruned struct{ Removed int } // older images of the project were removed
	Pulled struct {              // files came home from the container
		Rescued []model.Rescued
		Err     error
	}
	LifecycleRan struct { // the dev container's lifecycle commands ran (Err: one failed, said already)
		C   *model.Container
		Err error
	}
	Stopped struct { // the shutdown effect ended
		C       *model.Container
		Rescued []model.Rescued
		Err     error
	}
)

func (Adopted) isInput() {}

func (Batch) isInput() {}

func (Built) isInput() {}

func (Synced) isInput() {}

func (KernelReloaded) isInput() {}

func (Started) isInput() {}

func (Reconciled) isInput() {}

func (Health) isInput() {}

func (Serving) isInput() {}

func (Recovered) isInput() {}

func (Replayed) isInput() {}

func (Died) isInput() {}

func (Requested) isInput() {}

func (EngineState) isInput() {}

func (Failed) isInput() {}

func (Quit) isInput() {}

func (LifecycleRan) isInput() {}
func (Stopped) isInput()      {}

func (ContainerChanged) isInput() {}

func (Pulled) isInput() {}

func (Probed) isInput() {}

func (Pruned) isInput() {}
