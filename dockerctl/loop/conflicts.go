package loop

import (
	"slices"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// trackConflicts follows what this step said: a conflict kept is listed
// until a save on either side resolves it (a sync of the host's file, or
// the container's coming home over it). Each resolution is said, and the
// list is recorded for tfdev status whenever it changes.
func (s *State) trackConflicts(fx *effects) {
	changed := false
	var said []event.Event // resolutions, unless the same step kept a new conflict of the file
	for _, e := range fx.list {
		em, ok := e.(Emit)
		if !ok {
			continue
		}
		ev := em.Event
		switch {
		case ev.Kind == event.Sync:
			for _, p := range ev.Paths {
				if i := s.conflictAt(p, ""); i >= 0 {
					s.conflicts = slices.Delete(slices.Clone(s.conflicts), i, i+1)
					said = append(said, event.Event{Kind: event.Resolved, File: p, Reason: "saved on the host, sent to the container"})
					changed = true
				}
			}
		case ev.Kind == event.Rescue && ev.Conflict && ev.File != "":
			c := model.Conflict{File: ev.File, Copy: ev.To, From: ev.From}
			said = slices.DeleteFunc(said, func(r event.Event) bool { return r.File == c.File })
			if i := s.conflictAt(c.File, c.From); i >= 0 {
				s.conflicts = slices.Delete(slices.Clone(s.conflicts), i, i+1)
			}
			s.conflicts = append(slices.Clone(s.conflicts), c)
			changed = true
		case ev.Kind == event.Rescue && !ev.Conflict:
			if i := s.conflictAt("", ev.From); i >= 0 {
				file := s.conflicts[i].File
				s.conflicts = slices.Delete(slices.Clone(s.conflicts), i, i+1)
				said = append(said, event.Event{Kind: event.Resolved, File: file, From: ev.From, Reason: "saved in the container, brought home"})
				changed = true
			}
		}
	}
	for _, e := range said {
		fx.emit(e)
	}
	if changed {
		fx.add(WriteConflicts{Project: s.project, Conflicts: slices.Clone(s.conflicts)})
	}
}

// conflictAt is the index of the conflict of project path file (or of
// container path from), -1 when none.
func (s *State) conflictAt(file, from string) int {
	return slices.IndexFunc(s.conflicts, func(c model.Conflict) bool {
		return (file != "" && c.File == file) || (from != "" && c.From == from)
	})
}

// Conflicts are the conflicts not resolved yet.
func (s State) Conflicts() []model.Conflict { return slices.Clone(s.conflicts) }
