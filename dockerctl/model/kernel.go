package model

import "time"

// Kernel is a kernel running in a container's Jupyter, with the notebooks
// (sessions) tied to it.
type Kernel struct {
	ID       string
	Name     string // the kernelspec: "python3"
	State    string // "idle", "busy", "starting"
	Sessions []KernelSession
}

// KernelSession ties a notebook to a kernel.
type KernelSession struct {
	ID, Path, Name, Type string
}

// CarryOptions bound carrying a kernel's variables.
type CarryOptions struct {
	Cap int64 // bytes per kernel; 0: DefaultCarryCap
}

// DefaultCarryCap bounds the variables carried per kernel.
const DefaultCarryCap = 2 << 30

// Carried is what became of one kernel in a replacement: the kernel that
// takes its place (New, "" when none could start), the sessions tied to
// it again (old session ID to new), and its variables: the names carried,
// their size and the time it took, and the names left behind with why.
type Carried struct {
	Old, New string
	Name     string // the kernelspec
	Sessions map[string]string
	Names    []string
	Bytes    int64
	Took     time.Duration
	Pickler  string            // "dill", "cloudpickle" or "pickle"
	Left     map[string]string // name: why it was not carried
}

// IDs are the old IDs (kernel and sessions) mapped to the new ones, for
// the front door.
func (c Carried) IDs() map[string]string {
	m := map[string]string{}
	if c.New != "" {
		m[c.Old] = c.New
	}
	for o, n := range c.Sessions {
		m[o] = n
	}
	return m
}

// KernelReload is what one kernel did with a change: the modules it
// reloaded, those it could not (with why and what to do), or, after a live
// install, the modules it had imported from the packages that changed.
// Err: the kernel could not be asked.
type KernelReload struct {
	Kernel   string
	Reloaded []string
	Failed   []ReloadFailure
	Imported []string
	Err      error
}

// ReloadFailure is a module a kernel could not reload.
type ReloadFailure struct {
	Module string `json:"module"`
	Why    string `json:"why"`
	Fix    string `json:"fix"`
}
