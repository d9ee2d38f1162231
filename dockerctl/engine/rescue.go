package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Where files from the container go on the host when they have no place of
// their own: KeptDir/<container path> for files no sync rule maps (they go
// back into every new container), ConflictDir/<time>/<path> for the
// container's side of a conflict.
const (
	KeptDir = ".tfdev/kept"
	tmpDir  = ".tfdev/tmp"
)

// RescueRoots are the container folders whose files the user may make or
// change: the sync destinations, the container's working directory and the
// folder its Jupyter serves.
func RescueRoots(rules watcher.Rules, c *model.Container) []string {
	roots := SyncRoots(rules)
	for _, d := range []string{c.Workdir, c.ServedDir} {
		if d != "" && d != "/" && !slicesContains(roots, path.Clean(d)) {
			roots = append(roots, path.Clean(d))
		}
	}
	return roots
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Rescue brings home what the user made or changed in a container under
// its rescue roots (RescueRoots): notebooks saved from Jupyter, outputs.
// For a running container discovery is one exec (files newer than tfdev's
// start marker, hashed in the container) and the content one tar stream;
// for a stopped one, the Engine's list of changes and one copy per file.
// tfdev's own syncs, known from the ledger, are skipped. Each file goes
// where the sync rules map it on the host, unless the host's copy changed
// too (a conflict: the container's goes to the conflicts folder); a file
// no rule maps goes to the kept folder.
func (e *Engine) Rescue(ctx context.Context, c *model.Container, hostDir string, rules watcher.Rules, ledger *model.Ledger) ([]model.Rescued, error) {
	roots := RescueRoots(rules, c)
	if running, err := e.running(ctx, c.ID); err == nil && running {
		sums, err := e.changedSince(ctx, c.ID, roots)
		if err != nil {
			return nil, err
		}
		return e.PullHome(ctx, c.ID, hostDir, rules, sums, ledger, nil)
	}
	return e.rescueStopped(ctx, c, hostDir, rules, roots, ledger)
}

// startMarker is the file tfdev touches in a container it starts: files
// newer than it were written while the container ran.
const startMarker = "/tmp/.tfdev-started"

// changedSince hashes, in one exec, the regular files under roots that
// are newer than the start marker (every file when there is none).
func (e *Engine) changedSince(ctx context.Context, id string, roots []string) (map[string]string, error) {
	script := `m=` + startMarker + `; newer=""; [ -e "$m" ] && newer="-newer $m"
for r in "$@"; do [ -d "$r" ] && find "$r" -type f $newer ! -path "*/.ipynb_checkpoints/*" -exec sha256sum {} +; done; exit 0`
	out, err := e.ExecOK(ctx, id, append([]string{"sh", "-c", script, "sh"}, roots...)...)
	if err != nil {
		return nil, fmt.Errorf("listing what changed in the container: %w", err)
	}
	return parseSHA256Sum(out), nil
}

// progressEvery is how often a file coming home reports its progress.
const progressEvery = time.Second

// PullHome brings the container files whose hashes are given home, in one
// tar stream, skipping those the ledger says both sides already agree on.
// progress, when not nil, hears how far large files are.
func (e *Engine) PullHome(ctx context.Context, id, hostDir string, rules watcher.Rules, sums map[string]string, ledger *model.Ledger, progress model.Progress) ([]model.Rescued, error) {
	var paths []string
	for p, sum := range sums {
		if ledger.Agrees(p, sum) || junk(p) {
			continue
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var out []model.Rescued
	paths, states := e.leftAlone(ctx, id, hostDir, rules, paths)
	for _, s := range e.newlyAlone(id, states) {
		out = append(out, model.Rescued{From: s, Alone: true})
	}
	h := homing{dir: hostDir, rules: rules, ledger: ledger, stamp: time.Now().Format("20060102-150405")}
	var errs []error
	err := e.fetch(ctx, id, paths, func(p string, hdr *tar.Header, r io.Reader) error {
		if progress != nil {
			r = &progressReader{r: r, path: p, total: hdr.Size, fn: progress, next: time.Now().Add(progressEvery)}
		}
		res, err := h.home(p, r, fileMode(hdr))
		if err != nil {
			errs = append(errs, err) // this file stays in the container; the others still come
			return nil
		}
		if res != nil {
			out = append(out, *res)
		}
		return nil
	})
	return out, errors.Join(append(errs, err)...)
}

func (e *Engine) rescueStopped(ctx context.Context, c *model.Container, hostDir string, rules watcher.Rules, roots []string, ledger *model.Ledger) ([]model.Rescued, error) {
	diff, err := e.api.ContainerDiff(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("reading what changed in %s: %w", c.Name, err)
	}
	var candidates []string
	for _, ch := range diff {
		if ch.Kind == 2 || junk(ch.Path) || !under(ch.Path, roots) {
			continue
		}
		candidates = append(candidates, ch.Path)
	}
	sort.Strings(candidates)
	candidates, _ = e.leftAlone(ctx, c.ID, hostDir, rules, candidates)
	h := homing{dir: hostDir, rules: rules, ledger: ledger, stamp: time.Now().Format("20060102-150405")}
	var out []model.Rescued
	for _, p := range candidates {
		r, err := e.rescueOne(ctx, c.ID, p, &h)
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
		if part == ".ipynb_checkpoints" || part == "__pycache__" || strings.HasPrefix(part, ".~") {
			return true
		}
	}
	return strings.HasSuffix(p, ".pyc") || strings.HasPrefix(p, "/tmp/.tfdev") || path.Base(p) == AutoreloadFile
}

func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

func (e *Engine) rescueOne(ctx context.Context, id, p string, h *homing) (*model.Rescued, error) {
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
	return h.home(p, tr, fileMode(hdr))
}

// homing decides where files from the container go on the host, and puts
// them there.
type homing struct {
	dir    string
	rules  watcher.Rules
	ledger *model.Ledger
	stamp  string
}

// home streams one container file to a temporary file on the host (flat
// memory whatever its size), then moves it where it belongs. It returns
// nil when nothing had to move (tfdev's own sync, the same content on both
// sides).
func (h *homing) home(p string, r io.Reader, mode os.FileMode) (*model.Rescued, error) {
	// Staged under .tfdev, which never triggers anything, on the project's
	// own file system, so that the final move is a rename.
	stage := filepath.Join(h.dir, tmpDir)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, fmt.Errorf("bringing %s home: %w (it stays in the container)", p, err)
	}
	ignoredByGit(h.dir)
	tmp, err := os.MkdirTemp(stage, "home-")
	if err != nil {
		return nil, fmt.Errorf("bringing %s home: %w (it stays in the container)", p, err)
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, "f")
	sum, err := writeFileAtomic(staged, r, mode)
	if err != nil {
		return nil, fmt.Errorf("bringing %s home: %w (it stays in the container)", p, err)
	}
	if h.ledger.Agrees(p, sum) {
		return nil, nil // tfdev's own sync, or the container's side of a conflict kept already
	}
	res := model.Rescued{From: p}
	if fi, err := os.Stat(staged); err == nil {
		res.Bytes = fi.Size()
	}
	rel, mapped := watcher.HostPath(p, h.rules)
	if !mapped {
		res.To, res.Kept = filepath.Join(h.dir, KeptDir, filepath.FromSlash(strings.TrimPrefix(p, "/"))), true
	} else {
		res.To = filepath.Join(h.dir, filepath.FromSlash(rel))
		switch h.hostSide(p, res.To, sum) {
		case sideSame:
			h.ledger.Set(p, sum)
			return nil, nil
		case sideConflict:
			res.Conflict, res.Host = true, res.To
			res.To = filepath.Join(h.dir, ConflictDir, h.stamp, filepath.FromSlash(rel))
		}
	}
	if err := moveInto(staged, res.To); err != nil {
		return nil, fmt.Errorf("bringing %s home to %s: %w (it stays in the container)", p, model.RelTo(h.dir, res.To), err)
	}
	if res.Conflict {
		hostSum, _ := FileSHA256(res.Host) // "": a folder or a link stands there, and the container's save goes over it next
		h.ledger.SetConflict(p, hostSum, sum)
		return &res, nil
	}
	h.ledger.Set(p, sum)
	return &res, nil
}

type side int

const (
	sideWrite    side = iota // the host has no copy, or the one both agreed on: the container's goes there
	sideSame                 // the host already has this content
	sideConflict             // the host's copy changed too (or a folder stands there): keep both
)

func (h *homing) hostSide(p, target, sum string) side {
	fi, err := os.Lstat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sideWrite
	case err != nil || !fi.Mode().IsRegular():
		return sideConflict // a folder, a link, something unreadable: never replaced
	}
	hostSum, err := FileSHA256(target)
	switch {
	case err != nil:
		return sideConflict
	case hostSum == sum:
		return sideSame
	}
	if h.ledger.Agrees(p, hostSum) {
		return sideWrite // the host still holds what both agreed on (or its side of a conflict): the container's is the newer edit
	}
	return sideConflict
}

// moveInto renames a staged file to target, making its folder.
func moveInto(staged, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	return os.Rename(staged, target)
}

// progressReader reports how much of a file was read, about once every
// progressEvery, and at its end when it took that long.
type progressReader struct {
	r     io.Reader
	path  string
	done  int64
	total int64
	fn    model.Progress
	next  time.Time
	told  bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	now := time.Now()
	if now.After(p.next) || (p.told && (err != nil || p.done == p.total)) {
		p.fn(p.path, p.done, p.total)
		p.next, p.told = now.Add(progressEvery), true
	}
	return n, err
}

// ignoredByGit gives the project's .tfdev folder, once tfdev writes there,
// a .gitignore of its own ("*"), as .pytest_cache has: what tfdev keeps and
// the conflicts' other sides never show in git status. A failure costs
// only that, so it is not an error.
func ignoredByGit(hostDir string) {
	p := filepath.Join(hostDir, ".tfdev", ".gitignore")
	if _, err := os.Stat(p); err == nil {
		return
	}
	_ = os.WriteFile(p, []byte("# written by tfdev: what it keeps for you here stays out of git\n*\n"), 0o644)
}
