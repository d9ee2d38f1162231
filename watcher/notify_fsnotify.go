package watcher

import (
	"errors"
	"fmt"

	"github.com/fsnotify/fsnotify"
)

// fsNotify is Notify over fsnotify: its events and errors are translated
// into the watcher's own, so nothing above this file sees fsnotify.
type fsNotify struct {
	w      *fsnotify.Watcher
	events chan FileEvent
	errs   chan error
	done   chan struct{}
}

func newFSNotify() (*fsNotify, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	n := &fsNotify{w: fw, events: make(chan FileEvent), errs: make(chan error), done: make(chan struct{})}
	go n.translate()
	return n, nil
}

func (n *fsNotify) translate() {
	defer close(n.events)
	defer close(n.errs)
	for {
		select {
		case ev, ok := <-n.w.Events:
			if !ok {
				return
			}
			select {
			case n.events <- FileEvent{Name: ev.Name, Op: fromFSNotify(ev.Op)}:
			case <-n.done:
				return
			}
		case err, ok := <-n.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				err = fmt.Errorf("%w (%v)", ErrOverflow, err)
			}
			select {
			case n.errs <- err:
			case <-n.done:
				return
			}
		case <-n.done:
			return
		}
	}
}

func fromFSNotify(op fsnotify.Op) EventOp {
	var out EventOp
	for _, m := range []struct {
		from fsnotify.Op
		to   EventOp
	}{{fsnotify.Create, Create}, {fsnotify.Write, Write}, {fsnotify.Remove, Remove}, {fsnotify.Rename, Rename}, {fsnotify.Chmod, Chmod}} {
		if op.Has(m.from) {
			out |= m.to
		}
	}
	return out
}

func (n *fsNotify) Add(name string) error    { return n.w.Add(name) }
func (n *fsNotify) Remove(name string) error { return n.w.Remove(name) }
func (n *fsNotify) Events() <-chan FileEvent { return n.events }
func (n *fsNotify) Errors() <-chan error     { return n.errs }
func (n *fsNotify) Close() error {
	close(n.done)
	return n.w.Close()
}
