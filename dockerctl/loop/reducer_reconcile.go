package loop

import (
	"fmt"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// reconcile compares the whole tree with the container.
func (s *State) reconcile(why string, fx *effects) {
	if s.cur == nil {
		return
	}
	if s.lost {
		s.resync = true
		return
	}
	s.reconciles++
	fx.add(Reconcile{Project: s.project, C: s.cur, Built: s.builtContext(), Why: why})
}

// onReconciled sends and brings home what a reconcile's comparison found,
// as ordinary syncs and pulls: edits made meanwhile were synced already,
// and Sync's guard and the pull's check of the host keep both sides of
// anything changed twice.
func (s *State) onReconciled(in Reconciled, fx *effects) {
	s.reconciles = max(0, s.reconciles-1)
	defer s.releaseReady(fx)
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting {
		return // a container that no longer serves
	}
	if in.Err != nil {
		if s.lost {
			s.resync = true // done again when the Engine is back
			return
		}
		fx.fail(fmt.Errorf("reconciling files (%s): %w", in.Why, in.Err))
		return
	}
	if len(in.Work.Push) > 0 {
		e := syncEffect(s.project, s.cur, in.Work.Push)
		e.Why = in.Why
		fx.add(e)
	}
	if len(in.Work.Pull) > 0 {
		fx.add(Pull{Project: s.project, C: s.cur, Sums: in.Work.Pull})
	}
}

// releaseReady says "ready" once Jupyter answers and no reconcile is under
// way.
func (s *State) releaseReady(fx *effects) {
	if s.heldReady && s.reconciles == 0 && s.cur != nil && !s.quitting {
		s.heldReady = false
		fx.emit(event.Event{Kind: event.Ready, Container: s.cur.Name, URL: s.url})
		if l := s.lifecycle; l != nil && l.C.ID == s.cur.ID {
			s.lifecycle = nil
			fx.add(*l)
		}
	}
}
