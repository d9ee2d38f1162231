package dockerctl

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// RescueDir is where container files go when the host has its own, newer
// version: <project>/.tfdev/rescued/<time>/<container path>.
const RescueDir = ".tfdev/rescued"

// Rescued is one file copied out of a container before it was removed.
type Rescued struct {
	From     string // container path
	To       string // host path
	Conflict bool   // the host had changed too: To is in the rescue folder
}

// Event is the rescue event of the file, with its host path relative to
// the project directory dir.
func (r Rescued) Event(dir string) event.Event {
	to, err := filepath.Rel(dir, r.To)
	if err != nil {
		to = r.To // not under the project: say where it went
	}
	return event.Event{Kind: event.Rescue, From: r.From, To: to, Conflict: r.Conflict}
}

// Rescue copies out of a container, before it is removed, every file the
// user made or changed in it (GET /containers/{id}/changes) under the synced
// destinations and Jupyter's notebook directory: notebooks saved from
// Jupyter, outputs. tfdev's own syncs (known from the ledger) are skipped.
// A file goes back to where the sync rules map it on the host unless that
// would overwrite a host file that changed too; then it goes to the rescue
// folder, and Conflict says so. Files no rule maps go to the rescue folder.
func (e *Engine) Rescue(ctx context.Context, c *Container, hostDir string, rules watcher.Rules, ledger *Ledger) ([]Rescued, error) {
	diff, err := e.api.ContainerDiff(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("reading what changed in %s: %w", c.Name, err)
	}
	roots := SyncRoots(rules)
	if c.Workdir != "" && c.Workdir != "/" {
		roots = append(roots, path.Clean(c.Workdir))
	}
	var candidates []string
	for _, ch := range diff {
		if ch.Kind == 2 || junk(ch.Path) || !under(ch.Path, roots) {
			continue
		}
		candidates = append(candidates, ch.Path)
	}
	sort.Strings(candidates)
	stamp := time.Now().Format("20060102-150405")
	var out []Rescued
	for _, p := range candidates {
		r, err := e.rescueOne(ctx, c.ID, p, hostDir, rules, ledger, stamp)
		if err != nil {
			return out, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// junk is what Jupyter and Python leave that nobody wants back.
func junk(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".ipynb_checkpoints" || part == "__pycache__" {
			return true
		}
	}
	return strings.HasSuffix(p, ".pyc")
}

func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

func (e *Engine) rescueOne(ctx context.Context, id, p, hostDir string, rules watcher.Rules, ledger *Ledger, stamp string) (*Rescued, error) {
	rc, _, err := e.api.CopyFromContainer(ctx, id, p)
	if err != nil {
		return nil, nil // gone already, or not readable: nothing to save
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil || hdr.Typeflag != tar.TypeReg {
		return nil, nil // directories come file by file; links and devices are not work
	}
	tmp, err := os.CreateTemp("", "tfdev-rescue-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	_, sum, err := copyHashed(tmp, tr, -1)
	if err != nil {
		return nil, fmt.Errorf("copying %s out of the container: %w", p, err)
	}
	if own, ok := ledger.Get(p); ok && own == sum {
		return nil, nil // tfdev's own sync
	}

	rel, mapped := watcher.HostPath(p, rules)
	target := filepath.Join(hostDir, RescueDir, stamp, filepath.FromSlash(strings.TrimPrefix(p, "/")))
	conflict := false
	if mapped {
		hostPath := filepath.Join(hostDir, filepath.FromSlash(rel))
		hostSum, err := FileSHA256(hostPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
			target = hostPath // new in the container: it goes home
		case err != nil:
			conflict = true
		case hostSum == sum:
			return nil, nil // same content on both sides
		default:
			// Overwrite the host only when it still holds what tfdev last
			// synced there: then the container's copy is the newer edit.
			if own, ok := ledger.Get(p); ok && own == hostSum {
				target = hostPath
			} else {
				conflict = true
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, err
	}
	mode := os.FileMode(hdr.Mode).Perm()
	if mode == 0 {
		mode = 0o644
	}
	if err := copyTo(tmp, target, mode); err != nil {
		return nil, fmt.Errorf("rescuing %s: %w", p, err)
	}
	return &Rescued{From: p, To: target, Conflict: conflict || !mapped}, nil
}

// copyTo writes the temp file's content to target through a rename, so
// the watcher sees one complete file.
func copyTo(tmp *os.File, target string, mode os.FileMode) error {
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	out, err := os.CreateTemp(filepath.Dir(target), ".tfdev-rescue-*")
	if err != nil {
		return err
	}
	// On failure the half-written temp file goes; the error that stopped
	// the copy is the one to report.
	drop := func(err error) error {
		_ = out.Close()
		_ = os.Remove(out.Name())
		return err
	}
	if _, err := io.Copy(out, tmp); err != nil {
		return drop(err)
	}
	if err := out.Chmod(mode); err != nil {
		return drop(err)
	}
	if err := out.Close(); err != nil {
		return drop(err)
	}
	if err := os.Rename(out.Name(), target); err != nil {
		return drop(err)
	}
	return nil
}
