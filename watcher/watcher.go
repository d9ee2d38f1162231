package watcher

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Batch is a set of coalesced changes, with the rules to classify them by.
type Batch struct {
	Changes []Change
	// Rescan is non-empty when events may have been missed (queue overflow,
	// a watch that could not be added): the consumer should diff the whole
	// tree against the container. It says why.
	Rescan   []string
	Rules    Rules // the rules in force for this batch
	Reloaded bool  // a control file changed and Rules are new
	// Loaded is what Reload returned when Reloaded: the consumer's own
	// reloaded configuration (tfdev's project), carried with the batch so
	// that the two never disagree.
	Loaded Loaded
	// ReloadErr: a control file changed but could not be read (a broken
	// Dockerfile, a bad pattern); Rules are the previous, good ones.
	ReloadErr error
	Since     time.Time // when the batch's first event arrived
}

// Loaded is a reloaded configuration: whatever it is, it has the rules.
type Loaded interface {
	WatchRules() Rules
}

// Options configure a Watcher.
type Options struct {
	Dir   string // the build context root
	Rules Rules  // Ignore and Triggers decide which directories are watched
	// Reload re-reads the configuration after a change to the Dockerfile,
	// an ignore file or .tfdevignore; nil keeps the first rules. It runs on
	// the watcher's goroutine without the watcher's lock held, so it may
	// take its time (ask the Engine, read files).
	Reload  func() (Loaded, error)
	Quiet   time.Duration // default DefaultQuiet
	Ceiling time.Duration // default DefaultCeiling
	Notify  Notify        // default fsnotify
}

// Watcher watches every directory of a build context that can matter,
// recursively, and delivers coalesced batches of changes.
type Watcher struct {
	dir     string
	n       Notify
	reload  func() (Loaded, error)
	batches chan Batch
	errs    chan error
	done    chan struct{}
	wg      sync.WaitGroup

	mu      sync.Mutex // guards what follows: the loop writes, Watched reads
	rules   Rules
	watched map[string]bool            // context-relative dirs with a watch; "" is the root
	tree    map[string]map[string]bool // dir -> child name -> is a directory
	co      *coalescer
}

// New walks the context, watches every directory that is not pruned and
// starts delivering batches. When it returns, the tree is being watched.
func New(opts Options) (*Watcher, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	n := opts.Notify
	if n == nil {
		fn, err := newFSNotify()
		if err != nil {
			return nil, limitError(err, "")
		}
		n = fn
	}
	w := &Watcher{
		dir:     dir,
		n:       n,
		reload:  opts.Reload,
		batches: make(chan Batch),
		errs:    make(chan error, 16),
		done:    make(chan struct{}),
		rules:   opts.Rules,
		watched: map[string]bool{},
		tree:    map[string]map[string]bool{},
		co:      newCoalescer(opts.Quiet, opts.Ceiling),
	}
	if err := w.addTree("", nil); err != nil {
		_ = n.Close() // the tree's error is the one that matters
		return nil, err
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// Batches delivers coalesced changes. It is closed by Close.
func (w *Watcher) Batches() <-chan Batch { return w.batches }

// Errors delivers problems that did not stop the watcher (a watch that
// could not be added, a directory that could not be read). Each also
// causes a rescan request in the next batch.
func (w *Watcher) Errors() <-chan error { return w.errs }

// Close stops watching and closes Batches.
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	err := w.n.Close()
	w.wg.Wait()
	return err
}

// Watched returns the watched directories, context-relative, sorted ("" is
// the root).
func (w *Watcher) Watched() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.watched))
	for d := range w.watched {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	defer close(w.batches)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		ready *Batch // a batch waiting for the consumer
		out   chan Batch
	)
	for {
		out = nil
		var next Batch
		if ready != nil {
			out, next = w.batches, *ready
		}
		select {
		case <-w.done:
			return
		case ev, ok := <-w.n.Events():
			if !ok {
				return
			}
			w.mu.Lock()
			w.handle(ev, time.Now())
			w.mu.Unlock()
		case err, ok := <-w.n.Errors():
			if !ok {
				return
			}
			w.mu.Lock()
			if errors.Is(err, ErrOverflow) {
				w.co.requestRescan("the kernel's event queue overflowed", time.Now())
			} else {
				w.co.requestRescan("watch error: "+err.Error(), time.Now())
				w.report(err)
			}
			w.mu.Unlock()
		case <-timer.C:
		case out <- next:
			ready = nil
		}
		now := time.Now()
		ready = w.flushDue(now, ready)
		w.mu.Lock()
		d := w.co.deadline()
		w.mu.Unlock()
		if !d.IsZero() {
			timer.Reset(d.Sub(now))
		}
	}
}

// flushDue turns the coalesced changes into a batch when their time has
// come, joined with the batch the consumer has not taken yet.
func (w *Watcher) flushDue(now time.Time, ready *Batch) *Batch {
	w.mu.Lock()
	due := w.co.due(now)
	var b Batch
	if due {
		b = w.co.flush()
	}
	w.mu.Unlock()
	if !due {
		return ready
	}
	b = w.reloadFor(b)
	if ready != nil {
		b = mergeBatches(*ready, b)
	}
	return &b
}

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default: // the consumer is not reading errors; the rescan covers it
	}
}

// handle turns one event into changes. Called with mu held.
func (w *Watcher) handle(ev FileEvent, now time.Time) {
	rel, ok := w.rel(ev.Name)
	if !ok || rel == "" {
		return
	}
	switch {
	case ev.Has(Create):
		fi, err := os.Lstat(ev.Name)
		if err != nil {
			w.removed(rel, now) // gone already: whatever was there is not
			return
		}
		if fi.IsDir() {
			w.setChild(rel, true)
			if w.skipDir(rel) {
				return
			}
			w.co.add(Change{Path: rel, IsDir: true}, now)
			// Files may have been created before the watch was in place
			// (mkdir -p a/b && touch a/b/x): walking reports them.
			if err := w.addTree(rel, func(c Change) { w.co.add(c, now) }); err != nil {
				w.report(err)
				w.co.requestRescan(err.Error(), now)
			}
			return
		}
		w.setChild(rel, false)
		w.changed(rel, false, now)
	case ev.Has(Remove) || ev.Has(Rename):
		w.removed(rel, now)
	case ev.Has(Write):
		w.changed(rel, w.isDir(rel), now)
	case ev.Has(Chmod):
		w.changedOp(rel, w.isDir(rel), ModeChanged, now)
	}
}

func (w *Watcher) changed(rel string, isDir bool, now time.Time) {
	if w.rules.Triggers.Why(rel, isDir) != "" && !w.isControl(rel) {
		return
	}
	w.co.add(Change{Path: rel, IsDir: isDir}, now)
}

// removed reports rel gone; a directory as every path under it gone.
func (w *Watcher) removed(rel string, now time.Time) {
	isDir := w.isDir(rel)
	if isDir {
		w.forSubtree(rel, func(p string, d bool) {
			if d {
				if w.watched[p] {
					_ = w.n.Remove(filepath.Join(w.dir, p)) // may already be gone with the inode
					delete(w.watched, p)
				}
				delete(w.tree, p)
				return
			}
			w.changedOp(p, false, Removed, now)
		})
	}
	w.deleteChild(rel)
	w.changedOp(rel, isDir, Removed, now)
}

func (w *Watcher) changedOp(rel string, isDir bool, op Op, now time.Time) {
	if w.rules.Triggers.Why(rel, isDir) != "" && !w.isControl(rel) {
		return
	}
	w.co.add(Change{Path: rel, IsDir: isDir, Op: op}, now)
}

func (w *Watcher) rel(p string) (string, bool) {
	r, err := filepath.Rel(w.dir, p)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	if r == "." {
		return "", true
	}
	return filepath.ToSlash(r), true
}
