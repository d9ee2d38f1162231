package watcher

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"time"
)

// ContextEntry is one path of the build context.
type ContextEntry struct {
	Rel     string      // slash-separated, relative to the context root
	Mode    fs.FileMode // type bits and permissions, as Lstat reports them
	Size    int64
	ModTime time.Time
}

// WalkContext calls fn for every directory, regular file and symlink of the
// build context rooted at dir, in lexical order, as BuildKit would send it:
// excluded paths are not reported, pruned directories are not read, symlinks
// are reported as links and never followed. Excluded directories that hold
// included paths are walked but not reported themselves.
func WalkContext(ctx context.Context, dir string, di *DockerIgnore, fn func(ContextEntry) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if di.SkipDir(rel) {
				return filepath.SkipDir
			}
			if di.Excluded(rel, true) {
				return nil
			}
		} else {
			t := d.Type()
			if t != 0 && t&fs.ModeSymlink == 0 {
				return nil // sockets, fifos and devices are not sent
			}
			if di.Excluded(rel, false) {
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(ContextEntry{Rel: rel, Mode: info.Mode(), Size: info.Size(), ModTime: info.ModTime()})
	})
}

// ListContext returns, sorted, the regular files and symlinks that a
// `COPY . /dest` in a build of dir can see.
func ListContext(ctx context.Context, dir string, di *DockerIgnore) ([]ContextEntry, error) {
	var out []ContextEntry
	err := WalkContext(ctx, dir, di, func(e ContextEntry) error {
		if !e.Mode.IsDir() {
			out = append(out, e)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, err
}
