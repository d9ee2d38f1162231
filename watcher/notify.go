package watcher

import (
	"errors"
	"strings"
)

// Notify is what the watcher needs of an OS file notifier: watches added
// and removed per directory, and a stream of events and errors. fsnotify
// is the real one (notify_fsnotify.go); tests deliver events by hand.
type Notify interface {
	Add(name string) error
	Remove(name string) error
	Events() <-chan FileEvent
	Errors() <-chan error
	Close() error
}

// FileEvent is one notification: what happened to the file at Name.
type FileEvent struct {
	Name string // the path, as the directory watch was added plus the file's name
	Op   EventOp
}

// EventOp says what happened in a FileEvent: one or more of Create, Write,
// Remove, Rename and Chmod.
type EventOp uint32

// The operations a FileEvent reports.
const (
	Create EventOp = 1 << iota
	Write
	Remove
	Rename
	Chmod
)

// Has reports whether the event includes op.
func (e FileEvent) Has(op EventOp) bool { return e.Op&op != 0 }

func (e FileEvent) String() string {
	var ops []string
	for _, o := range []struct {
		op   EventOp
		name string
	}{{Create, "CREATE"}, {Write, "WRITE"}, {Remove, "REMOVE"}, {Rename, "RENAME"}, {Chmod, "CHMOD"}} {
		if e.Has(o.op) {
			ops = append(ops, o.name)
		}
	}
	return strings.Join(ops, "|") + " " + e.Name
}

// ErrOverflow is the error a Notify reports when the OS dropped events
// (inotify's IN_Q_OVERFLOW): the watcher then asks for a full rescan.
var ErrOverflow = errors.New("the kernel's event queue overflowed")
