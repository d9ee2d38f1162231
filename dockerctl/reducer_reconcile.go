package dockerctl

import (
	"fmt"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// reconcile compares the whole tree with the container.
func (s *loopState) reconcile(why string, fx *effects) {
	if s.cur == nil {
		return
	}
	if s.lost {
		s.resync = true
		return
	}
	s.reconciles++
	fx.add(effReconcile{project: s.project, c: s.cur, built: s.builtContext(), why: why})
}

// onReconciled sends and brings home what a reconcile's comparison found,
// as ordinary syncs and pulls: edits made meanwhile were synced already,
// and Sync's guard and the pull's check of the host keep both sides of
// anything changed twice.
func (s *loopState) onReconciled(in inReconciled, fx *effects) {
	s.reconciles = max(0, s.reconciles-1)
	defer s.releaseReady(fx)
	if s.cur == nil || in.c.ID != s.cur.ID || s.quitting {
		return // a container that no longer serves
	}
	if in.err != nil {
		if s.lost {
			s.resync = true // done again when the Engine is back
			return
		}
		fx.fail(fmt.Errorf("reconciling files (%s): %w", in.why, in.err))
		return
	}
	if len(in.work.Push) > 0 {
		e := syncEffect(s.project, s.cur, in.work.Push)
		e.why = in.why
		fx.add(e)
	}
	if len(in.work.Pull) > 0 {
		fx.add(effPull{project: s.project, c: s.cur, sums: in.work.Pull})
	}
}

// releaseReady says "ready" once Jupyter answers and no reconcile is under
// way.
func (s *loopState) releaseReady(fx *effects) {
	if s.heldReady && s.reconciles == 0 && s.cur != nil && !s.quitting {
		s.heldReady = false
		fx.emit(event.Event{Kind: event.Ready, Container: s.cur.Name, URL: s.url})
	}
}
