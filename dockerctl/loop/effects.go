package loop

import (
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Effect is something the reducer decided to do: one of the eff* types,
// carried out by the executor's Apply.
type Effect interface{ isEffect() }

type (
	Emit  struct{ Event event.Event } // tell the user
	Build struct {                    // build in the background; a Built follows
		Reason  string
		Project *dockerfile.Project
		Seq     int // the build's number in the session
		// Against is the image of the container found running at the
		// start; the build then says whether the two differ only in the
		// last Tail layers, which steps tfdev syncs make.
		Against string
		Tail    int
	}
	Sync struct { // copy these files into the container; a Synced follows
		Project *dockerfile.Project
		C       *model.Container
		Items   []watcher.SyncItem
		Paths   []string
		Line    int
		Why     string   // a reconcile's: why it ran
		Modules []string // what kernels reload
		Restart []string // what they cannot
		Files   []string // the container's module files among Items: the kernels are told of these
	}
	Reload struct { // tell C's kernels that these module files changed; a KernelReloaded follows per kernel
		C     *model.Container
		Files []string
	}
	Reconcile struct { // compare the whole tree with the container, beside the loop; a Reconciled follows
		Project *dockerfile.Project
		C       *model.Container
		Built   []string
		Why     string
	}
	Start struct { // create and start a container of the built image; a Started follows
		Project *dockerfile.Project
		Built   *model.BuildResult
	}
	Reattach struct { // adopt a container of an earlier run: rescue, then reconcile
		Project *dockerfile.Project
		C       *model.Container
		Built   *model.BuildResult
	}
	Replace struct { // a container of the new image in place of old; a Started follows
		Project *dockerfile.Project
		Old     *model.Container
		Built   *model.BuildResult
		Again   bool // the Engine's loss cut the last try short: its leftovers go first
	}
	Restart struct { // start a container that died again; a Started follows
		C   *model.Container
		How string
	}
	Recover struct { // after an Engine loss: restart or reconcile the container
		Project *dockerfile.Project
		C       *model.Container
		Built   *model.BuildResult // the last build, nil when none finished
	}
	WaitReady struct { // probe Jupyter until it answers, beside the loop; a Health follows
		Project *dockerfile.Project
		C       *model.Container
	}
	Serve struct { // switch the front door to c and watch what is written in it; a Serving follows
		Project *dockerfile.Project
		C       *model.Container
		URL     string
	}
	Pull struct { // bring these container files home; a Pulled follows
		Project *dockerfile.Project
		C       *model.Container
		Sums    map[string]string
	}
	Replay struct { // install a dependency change in the running container, beside the loop; a Replayed follows
		Project *dockerfile.Project
		C       *model.Container
		Plan    *dockerfile.Replay
		Changed []string
	}
	Reconnect struct{} // wait until the Engine answers again; an EngineState{Lost: false} follows
	Keep      struct { // leave the container running (--keep), its ledger recorded
		Project *dockerfile.Project
		C       *model.Container
	}
	WriteState struct { // record the build and container for tfdev status
		Project *dockerfile.Project
		Built   *model.BuildResult
		C       *model.Container
		URL     string
		Live    string // the image c matches through live installs or syncs ("" none)
		Via     string // how: "live installs" or "syncs"
	}
	PruneImages struct { // remove the project's older images that nothing uses; a Pruned follows
		Project *dockerfile.Project
		Keep    []string // image IDs: the current and the one before
	}
	RunLifecycle struct { // run the dev container's lifecycle commands in c, beside the loop; a LifecycleRan follows
		Project *dockerfile.Project
		C       *model.Container
		Created bool // a new container: onCreate, updateContent, postCreate, then postStart; else postStart
	}
	WriteConflicts struct { // record the unresolved conflicts for tfdev status
		Project   *dockerfile.Project
		Conflicts []model.Conflict
	}
	Shutdown struct { // stop the container and rescue from it; a Stopped follows
		Project *dockerfile.Project
		C       *model.Container
	}
)

func (Emit) isEffect()           {}
func (Build) isEffect()          {}
func (Sync) isEffect()           {}
func (Reconcile) isEffect()      {}
func (Start) isEffect()          {}
func (Reattach) isEffect()       {}
func (Replace) isEffect()        {}
func (Restart) isEffect()        {}
func (Reload) isEffect()         {}
func (Recover) isEffect()        {}
func (WaitReady) isEffect()      {}
func (Serve) isEffect()          {}
func (Replay) isEffect()         {}
func (Pull) isEffect()           {}
func (Keep) isEffect()           {}
func (Reconnect) isEffect()      {}
func (WriteState) isEffect()     {}
func (PruneImages) isEffect()    {}
func (WriteConflicts) isEffect() {}
func (RunLifecycle) isEffect()   {}
func (Shutdown) isEffect()       {}
