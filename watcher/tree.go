package watcher

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The watcher's picture of the tree: which directories it watches, what
// each holds, and which it leaves alone.

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
			_ = w.n.Remove(filepath.Join(w.dir, d)) // an ignored directory's events are filtered anyway
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
