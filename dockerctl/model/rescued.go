package model

import (
	"path/filepath"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// Rescued is one file that came home from a container.
type Rescued struct {
	From     string // container path
	To       string // host path
	Conflict bool   // the host had changed too: To is in the conflicts folder
	Kept     bool   // no project path maps to it: To is in the kept folder
	Host     string // with Conflict: the host file that changed too, kept as it is ("" when none)
	Bytes    int64  // the file's size
	// Alone: From is the container user's own state in its home (Jupyter's
	// runtime folder, .ipython...), which is left in the container.
	Alone bool
}

// Event is the rescue event of the file, with host paths relative to the
// project directory dir.
func (r Rescued) Event(dir string) event.Event {
	if r.Alone {
		return event.Event{Kind: event.Info, Message: "left alone in the container: " + r.From +
			" (the container user's own state in its home, not the project's: it never comes home or goes in)"}
	}
	e := event.Event{Kind: event.Rescue, From: r.From, To: RelTo(dir, r.To), Conflict: r.Conflict}
	if r.Conflict && r.Host != "" {
		e.File = RelTo(dir, r.Host)
	}
	if r.Kept {
		e.Reason = "kept"
	}
	return e
}

func RelTo(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p // not under the project: say where it went
	}
	return filepath.ToSlash(rel)
}

// Progress hears, about once a second, how far a large file coming home
// from the container is.
type Progress func(containerPath string, done, total int64)
