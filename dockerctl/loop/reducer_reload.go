package loop

import (
	"fmt"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// onKernelReloaded: a kernel answered a Reload. What it reloaded is said
// when there is any; each module it could not reload is said on its own,
// with why and what to do (the TUI keeps it on the screen until a later
// save reloads that module in that kernel); a kernel that could not be
// asked is said too. A kernel that imported none of the files says
// nothing.
func (s *State) onKernelReloaded(in KernelReloaded, fx *effects) {
	if s.cur == nil || in.C.ID != s.cur.ID {
		return // an answer from a container that no longer serves
	}
	if in.Err != nil {
		fx.emit(event.Event{Kind: event.ReloadFailed, Kernel: in.Kernel,
			Message: "tfdev could not tell it of the change: " + in.Err.Error(), Fix: "run the cell again after the next save, or restart this kernel"})
		return
	}
	if len(in.Reloaded) > 0 {
		fx.emit(event.Event{Kind: event.KernelReload, Kernel: in.Kernel, Modules: in.Reloaded})
	}
	for _, f := range in.Failed {
		fx.emit(event.Event{Kind: event.ReloadFailed, Kernel: in.Kernel, Module: f.Module, Message: f.Why, Fix: f.Fix})
	}
}

// importsEvent says which modules a kernel imported from the packages a
// live install changed, and whether it must restart.
func importsEvent(k model.KernelReload, packages []string) event.Event {
	e := event.Event{Kind: event.KernelImports, Kernel: k.Kernel, Modules: k.Imported}
	switch {
	case k.Err != nil:
		e.Message = fmt.Sprintf("could not be asked what it imported (%v): restart it if it imported %s", k.Err, strings.Join(packages, ", "))
	case len(k.Imported) == 0:
		e.Message = "imported none of " + strings.Join(packages, ", ") + ": no restart needed"
	default:
		e.Message = "restart it to use the new " + strings.Join(packages, ", ")
		e.Restart = packages
	}
	return e
}
