package dockerctl

import (
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// input is something that happened: one of the in* types.
type input interface{ isInput() }

type (
	inAdopted struct { // the project's containers from an earlier run: the running one (or nil), what was rescued from stopped ones
		running *Container
		live    string // the image running matches through live installs ("" none)
		rescued []Rescued
		errs    []error
	}
	inBatch struct{ b watcher.Batch } // the watcher's changes, with the reloaded project
	inBuilt struct {                  // a build ended
		res     *BuildResult
		err     error
		project *dockerfile.Project
		reason  string
		seq     int
	}
	inSynced struct { // a sync (why == "") or a reconcile ended
		res     SyncResult
		err     error
		paths   []string
		line    int
		why     string
		modules []string
		restart []string
	}
	inReconciled struct { // a reconcile's comparison ended: what to send and bring home
		c    *Container
		work ReconcileWork
		err  error
		why  string
	}
	inStarted struct { // a container was started, reattached, restarted or replaced (or not: err)
		c          *Container
		how        string
		err        error
		old        *Container // replace: the container it replaces
		rescued    []Rescued
		synced     SyncResult
		reconciled bool // the effect brought the files up to date already (a replacement)
	}
	inHealth struct { // Jupyter's readiness probe of a container ended
		c   *Container
		url string
		err error
	}
	inServing struct { // the front door sends users to c, and its watch is in place
		c   *Container
		url string // the URL users open
	}
	inRecovered struct{ c *Container } // after an Engine loss, c was found running
	inReplayed  struct {               // a live install ended
		c       *Container
		changed []string
		err     error    // a *ReplayError when a step failed
		summary string   // what pip installed, in short
		restart []string // packages whose version changed under running kernels
	}
	inDeath struct { // a container of the project died
		Death
		logs []string
	}
	inRequest struct{ r event.Request }
	inEngine  struct { // the Engine stopped answering, or answers again
		lost bool
		err  error
	}
	inFailed           struct{ err error } // a failure beside the loop's work (the watcher, the state file)
	inQuit             struct{}            // Ctrl-C, SIGTERM, the watcher closed
	inContainerChanged struct {            // files were written in the container
		c    *Container
		sums map[string]string
	}
	inProbe struct { // Jupyter's answer to the periodic probe changed
		c   *Container
		err error // nil: it answers again
		at  time.Time
	}
	inPruned struct{ removed int } // older images of the project were removed
	inPulled struct {              // files came home from the container
		rescued []Rescued
		err     error
	}
	inStopped struct { // the shutdown effect ended
		c       *Container
		rescued []Rescued
		err     error
	}
)

func (inAdopted) isInput()          {}
func (inBatch) isInput()            {}
func (inBuilt) isInput()            {}
func (inSynced) isInput()           {}
func (inStarted) isInput()          {}
func (inReconciled) isInput()       {}
func (inHealth) isInput()           {}
func (inServing) isInput()          {}
func (inRecovered) isInput()        {}
func (inReplayed) isInput()         {}
func (inDeath) isInput()            {}
func (inRequest) isInput()          {}
func (inEngine) isInput()           {}
func (inFailed) isInput()           {}
func (inQuit) isInput()             {}
func (inStopped) isInput()          {}
func (inContainerChanged) isInput() {}
func (inPulled) isInput()           {}
func (inProbe) isInput()            {}
func (inPruned) isInput()           {}
