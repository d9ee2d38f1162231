package watcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Notify is the part of fsnotify the watcher uses.
type Notify interface {
	Add(name string) error
	Remove(name string) error
	Events() <-chan fsnotify.Event
	Errors() <-chan error
	Close() error
}

type fsNotify struct{ w *fsnotify.Watcher }

func (n fsNotify) Add(name string) error         { return n.w.Add(name) }
func (n fsNotify) Remove(name string) error      { return n.w.Remove(name) }
func (n fsNotify) Events() <-chan fsnotify.Event { return n.w.Events }
func (n fsNotify) Errors() <-chan error          { return n.w.Errors }
func (n fsNotify) Close() error                  { return n.w.Close() }

// Batch is a set of coalesced changes, with the rules to classify them by.
type Batch struct {
	Changes []Change
	// Rescan is non-empty when events may have been missed (queue overflow,
	// a watch that could not be added): the consumer should diff the whole
	// tree against the container. It says why.
	Rescan   []string
	Rules    Rules // the rules in force for this batch
	Reloaded bool  // a control file changed and Rules are new
	// ReloadErr: a control file changed but could not be read (a broken
	// Dockerfile, a bad pattern); Rules are the previous, good ones.
	ReloadErr error
	Since     time.Time // when the batch's first event arrived
}

// Options configure a Watcher.
type Options struct {
	Dir   string // the build context root
	Rules Rules  // Ignore and Triggers decide which directories are watched
	// Reload re-reads the rules after a change to the Dockerfile, an ignore
	// file or .tfdevignore; nil keeps the first rules.
	Reload  func() (Rules, error)
	Quiet   time.Duration // default DefaultQuiet
	Ceiling time.Duration // default DefaultCeiling
	Notify  Notify        // default fsnotify
}

// Watcher watches every directory of a build context that can matter,
// recursively, and delivers coalesced batches of changes.
type Watcher struct {
	dir     string
	n       Notify
	reload  func() (Rules, error)
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
		fw, err := fsnotify.NewWatcher()
		if err != nil {
			return nil, limitError(err, "")
		}
		n = fsNotify{fw}
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
		n.Close()
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
			if errors.Is(err, fsnotify.ErrEventOverflow) {
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
		w.mu.Lock()
		if w.co.due(now) {
			b := w.emit()
			if ready != nil {
				b = mergeBatches(*ready, b)
			}
			ready = &b
		}
		d := w.co.deadline()
		w.mu.Unlock()
		if !d.IsZero() {
			timer.Reset(d.Sub(now))
		}
	}
}

// emit flushes the coalescer and, when a control file changed, reloads the
// rules and the set of watched directories. Called with mu held.
func (w *Watcher) emit() Batch {
	b := w.co.flush()
	if w.reload != nil && w.touchesControl(b.Changes) {
		rules, err := w.reload()
		if err != nil {
			b.ReloadErr = err
		} else {
			w.rules = rules
			b.Reloaded = true
			w.rewatch()
		}
	}
	b.Rules = w.rules
	return b
}

func (w *Watcher) touchesControl(cs []Change) bool {
	for _, c := range cs {
		if c.Path == TfdevIgnoreFile {
			return true
		}
		for _, a := range w.rules.Always {
			if c.Path == a {
				return true
			}
		}
	}
	return false
}

// mergeBatches joins a batch the consumer has not taken yet with a newer one.
func mergeBatches(old, nu Batch) Batch {
	byPath := map[string]Change{}
	for _, c := range old.Changes {
		byPath[c.Path] = c
	}
	for _, c := range nu.Changes {
		byPath[c.Path] = c
	}
	nu.Changes = nu.Changes[:0]
	for _, c := range byPath {
		nu.Changes = append(nu.Changes, c)
	}
	sort.Slice(nu.Changes, func(i, j int) bool { return nu.Changes[i].Path < nu.Changes[j].Path })
	nu.Rescan = append(old.Rescan, nu.Rescan...)
	nu.Reloaded = nu.Reloaded || old.Reloaded
	if nu.ReloadErr == nil && !nu.Reloaded {
		nu.ReloadErr = old.ReloadErr
	}
	nu.Since = old.Since
	return nu
}

func (w *Watcher) report(err error) {
	select {
	case w.errs <- err:
	default: // the consumer is not reading errors; the rescan covers it
	}
}

// handle turns one fsnotify event into changes. Called with mu held.
func (w *Watcher) handle(ev fsnotify.Event, now time.Time) {
	rel, ok := w.rel(ev.Name)
	if !ok || rel == "" {
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
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
	case ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename):
		w.removed(rel, now)
	case ev.Has(fsnotify.Write) || ev.Has(fsnotify.Chmod):
		w.changed(rel, w.isDir(rel), now)
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
					w.n.Remove(filepath.Join(w.dir, p)) // may already be gone with the inode
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

// forSubtree calls fn for everything known below dir, deepest last.
func (w *Watcher) forSubtree(dir string, fn func(p string, isDir bool)) {
	for name, isDir := range w.tree[dir] {
		p := path.Join(dir, name)
		if isDir {
			w.forSubtree(p, fn)
		}
		fn(p, isDir)
	}
	fn(dir, true)
}

// addTree watches dir and every directory below it that can matter, records
// what it finds, and calls found (when not nil) for every path below dir.
func (w *Watcher) addTree(dir string, found func(Change)) error {
	root := filepath.Join(w.dir, dir)
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // vanished while we walked: its removal event follows
			}
			return err
		}
		rel, ok := w.rel(p)
		if !ok {
			return nil
		}
		if d.IsDir() {
			if rel != dir && w.skipDir(rel) {
				w.setChild(rel, true)
				return filepath.SkipDir
			}
			if err := w.n.Add(p); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return limitError(err, p)
			}
			w.watched[rel] = true
			if _, ok := w.tree[rel]; !ok {
				w.tree[rel] = map[string]bool{}
			}
		}
		if rel == "" {
			return nil
		}
		w.setChild(rel, d.IsDir())
		if found != nil && rel != dir {
			if w.rules.Triggers.Why(rel, d.IsDir()) == "" || w.isControl(rel) {
				found(Change{Path: rel, IsDir: d.IsDir()})
			}
		}
		return nil
	})
}

// rewatch makes the watched set match new rules: directories that are now
// pruned lose their watch, newly included ones get one. Called with mu held.
func (w *Watcher) rewatch() {
	for d := range w.watched {
		if d != "" && w.skipDir(d) {
			w.n.Remove(filepath.Join(w.dir, d))
			delete(w.watched, d)
		}
	}
	if err := w.addTree("", nil); err != nil {
		w.report(err)
		w.co.requestRescan(err.Error(), time.Now())
	}
}

// skipDir: nothing below dir can trigger work, so it gets no watch. A
// directory that holds a control file (a Dockerfile under an excluded
// docker/ folder) is watched all the same.
func (w *Watcher) skipDir(rel string) bool {
	for _, a := range w.rules.Always {
		if strings.HasPrefix(a, rel+"/") {
			return false
		}
	}
	if rel == ".git" || w.rules.Ignore.SkipDir(rel) {
		return true
	}
	return w.rules.Triggers.Why(rel, true) != ""
}

func (w *Watcher) isControl(rel string) bool {
	if rel == TfdevIgnoreFile {
		return true
	}
	for _, a := range w.rules.Always {
		if rel == a {
			return true
		}
	}
	return false
}

func (w *Watcher) isDir(rel string) bool {
	parent, name := path.Split(rel)
	return w.tree[strings.TrimSuffix(parent, "/")][name]
}

func (w *Watcher) setChild(rel string, isDir bool) {
	parent, name := path.Split(rel)
	parent = strings.TrimSuffix(parent, "/")
	m := w.tree[parent]
	if m == nil {
		m = map[string]bool{}
		w.tree[parent] = m
	}
	m[name] = isDir
}

func (w *Watcher) deleteChild(rel string) {
	parent, name := path.Split(rel)
	delete(w.tree[strings.TrimSuffix(parent, "/")], name)
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

// LimitError is the kernel refusing another inotify watch or instance.
type LimitError struct {
	Setting string // fs.inotify.max_user_watches or max_user_instances
	Current string // its value now, as read from /proc
	Path    string
	Err     error
}

func (e *LimitError) Error() string {
	where := ""
	if e.Path != "" {
		where = " watching " + e.Path
	}
	return fmt.Sprintf("inotify limit reached%s: %s is %s; raise it with: sudo sysctl %s=%s "+
		"(or exclude large folders in .dockerignore or .tfdevignore): %v",
		where, e.Setting, e.Current, e.Setting, raised(e.Current), e.Err)
}

func (e *LimitError) Unwrap() error { return e.Err }

func raised(cur string) string {
	var n int
	if _, err := fmt.Sscan(cur, &n); err == nil && n > 0 {
		if n < 524288 {
			return "524288"
		}
		return fmt.Sprint(n * 2)
	}
	return "524288"
}

// limitError names the sysctl to raise when err is the kernel's refusal
// (ENOSPC for watches, EMFILE for instances); other errors pass through.
func limitError(err error, p string) error {
	setting := ""
	switch {
	case errors.Is(err, errENOSPC):
		setting = "fs.inotify.max_user_watches"
	case errors.Is(err, errEMFILE):
		setting = "fs.inotify.max_user_instances"
	default:
		if p != "" {
			return fmt.Errorf("watching %s: %w", p, err)
		}
		return err
	}
	cur := "unknown"
	if b, rerr := os.ReadFile("/proc/sys/" + strings.ReplaceAll(setting, ".", "/")); rerr == nil {
		cur = strings.TrimSpace(string(b))
	}
	return &LimitError{Setting: setting, Current: cur, Path: p, Err: err}
}
