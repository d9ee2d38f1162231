package loop

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// A conflict stays listed until a save on either side resolves it, and
// every change of the list is recorded for tfdev status.
func TestReduceConflictsStayUntilResolved(t *testing.T) {
	l := startedLoop(t)
	conflict := func(name string) model.Rescued {
		return model.Rescued{From: "/tf/" + name, To: filepath.Join(l.p.Dir, ".tfdev/conflicts/20261202-000000", name), Conflict: true, Host: filepath.Join(l.p.Dir, name)}
	}
	l.feed(Synced{Res: model.SyncResult{Conflicts: []model.Rescued{conflict("a.ipynb"), conflict("b.ipynb")}}}).want("rescue rescue WriteConflicts")
	if got := l.s.Conflicts(); len(got) != 2 || got[0].File != "a.ipynb" || got[0].Copy != ".tfdev/conflicts/20261202-000000/a.ipynb" || got[0].From != "/tf/a.ipynb" {
		t.Fatalf("conflicts %+v", got)
	}
	// Something else happens: the list stands.
	l.feed(Synced{Res: model.SyncResult{Files: 1}, Paths: []string{"train.py"}}).want("sync")
	// The host's a.ipynb is saved and sent: resolved.
	l.feed(Synced{Res: model.SyncResult{Files: 1}, Paths: []string{"a.ipynb"}}).want("sync conflict.resolved WriteConflicts")
	if e := l.event(event.Resolved); e.File != "a.ipynb" || e.Text() != "conflict resolved: a.ipynb (saved on the host, sent to the container)" {
		t.Errorf("resolved %+v %q", e, e.Text())
	}
	// A save of b.ipynb that conflicts again is no resolution.
	l.feed(Synced{Res: model.SyncResult{Files: 1, Conflicts: []model.Rescued{conflict("b.ipynb")}}, Paths: []string{"b.ipynb"}}).want("sync rescue WriteConflicts")
	// The container's b.ipynb, saved in Jupyter, comes home: resolved.
	l.feed(Pulled{Rescued: []model.Rescued{{From: "/tf/b.ipynb", To: filepath.Join(l.p.Dir, "b.ipynb")}}}).want("rescue conflict.resolved WriteConflicts")
	if w := l.out[2].(WriteConflicts); len(w.Conflicts) != 0 {
		t.Errorf("still listed: %+v", w.Conflicts)
	}
	l.feed(Pulled{Err: errors.New("gone")}).want("error")
}
