package dockerctl

import (
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// effect is something the reducer decided to do: one of the eff* types,
// carried out by the executor's Apply.
type effect interface{ isEffect() }

type (
	effEmit  struct{ e event.Event } // tell the user
	effBuild struct {                // build in the background; an inBuilt follows
		reason  string
		project *dockerfile.Project
		seq     int // the build's number in the session
	}
	effSync struct { // copy these files into the container; an inSynced follows
		project *dockerfile.Project
		c       *Container
		items   []watcher.SyncItem
		paths   []string
		line    int
		why     string   // a reconcile's: why it ran
		modules []string // what kernels reload (autoreload)
		restart []string // what they cannot
	}
	effReconcile struct { // compare the whole tree with the container, beside the loop; an inReconciled follows
		project *dockerfile.Project
		c       *Container
		built   []string
		why     string
	}
	effStart struct { // create and start a container of the built image; an inStarted follows
		project *dockerfile.Project
		built   *BuildResult
	}
	effReattach struct { // adopt a container of an earlier run: rescue, then reconcile
		project *dockerfile.Project
		c       *Container
		built   *BuildResult
	}
	effReplace struct { // a container of the new image in place of old; an inStarted follows
		project *dockerfile.Project
		old     *Container
		built   *BuildResult
	}
	effRestart struct { // start a container that died again; an inStarted follows
		c   *Container
		how string
	}
	effRecover struct { // after an Engine loss: restart or reconcile the container
		project *dockerfile.Project
		c       *Container
		built   *BuildResult // the last build, nil when none finished
	}
	effWaitReady struct { // probe Jupyter until it answers, beside the loop; an inHealth follows
		project *dockerfile.Project
		c       *Container
	}
	effServe struct { // switch the front door to c and watch what is written in it; an inServing follows
		project *dockerfile.Project
		c       *Container
		url     string
	}
	effPull struct { // bring these container files home; an inPulled follows
		project *dockerfile.Project
		c       *Container
		sums    map[string]string
	}
	effReplay struct { // install a dependency change in the running container, beside the loop; an inReplayed follows
		project *dockerfile.Project
		c       *Container
		plan    *dockerfile.Replay
		changed []string
	}
	effReconnect struct{} // wait until the Engine answers again; an inEngine{lost: false} follows
	effKeep      struct { // leave the container running (--keep), its ledger recorded
		project *dockerfile.Project
		c       *Container
	}
	effWriteState struct { // record the build and container for tfdev status
		project *dockerfile.Project
		built   *BuildResult
		c       *Container
		url     string
		live    string // the image c matches through live installs ("" none)
	}
	effPruneImages struct { // remove the project's older images that nothing uses; an inPruned follows
		project *dockerfile.Project
		keep    []string // image IDs: the current and the one before
	}
	effShutdown struct { // stop the container and rescue from it; an inStopped follows
		project *dockerfile.Project
		c       *Container
	}
)

func (effEmit) isEffect()        {}
func (effBuild) isEffect()       {}
func (effSync) isEffect()        {}
func (effReconcile) isEffect()   {}
func (effStart) isEffect()       {}
func (effReattach) isEffect()    {}
func (effReplace) isEffect()     {}
func (effRestart) isEffect()     {}
func (effRecover) isEffect()     {}
func (effWaitReady) isEffect()   {}
func (effServe) isEffect()       {}
func (effReplay) isEffect()      {}
func (effPull) isEffect()        {}
func (effKeep) isEffect()        {}
func (effReconnect) isEffect()   {}
func (effWriteState) isEffect()  {}
func (effPruneImages) isEffect() {}
func (effShutdown) isEffect()    {}
