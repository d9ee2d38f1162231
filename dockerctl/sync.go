package dockerctl

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/watcher"
)

// SyncResult says what one Sync did.
type SyncResult struct {
	Files    int   // files, directories and links written
	Bytes    int64 // bytes of file content written
	Removed  int   // paths removed in the container
	Duration time.Duration
	Errors   []PathError // paths that could not be synced; the rest were
}

// PathError is one path that could not be synced.
type PathError struct {
	Path string
	Err  error
}

func (e PathError) Error() string { return e.Path + ": " + e.Err.Error() }

// Ledger remembers what tfdev itself wrote into a container (container path
// -> SHA-256 of the content), so that a later rescue can tell the user's
// edits in the container from tfdev's own syncs. Safe for concurrent use.
type Ledger struct {
	mu sync.Mutex
	m  map[string]string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{m: map[string]string{}} }

func (l *Ledger) set(p, sum string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sum == "" {
		delete(l.m, p)
		return
	}
	l.m[p] = sum
}

// Get returns the hash tfdev last wrote at container path p.
func (l *Ledger) Get(p string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.m[p]
	return s, ok
}

// Sync applies a batch's sync items to a running container: every removal
// in one `rm -rf --` exec, then every file, directory and symlink in one tar
// through CopyToContainer (PUT /containers/{id}/archive at "/"). The host
// path's state at sync time wins: a file that vanished since its event is
// removed. Files are streamed, never read whole into memory.
func (e *Engine) Sync(ctx context.Context, id, hostDir string, items []watcher.SyncItem, ledger *Ledger) (SyncResult, error) {
	start := time.Now()
	var res SyncResult
	var writes []watcher.SyncItem
	var removes []string
	var size int64 // of what writes will send, as Lstat saw it
	for _, it := range items {
		if !safeDest(it.Dest) {
			res.Errors = append(res.Errors, PathError{it.Path, fmt.Errorf("refusing to sync to %q", it.Dest)})
			continue
		}
		full := filepath.Join(hostDir, filepath.FromSlash(it.Path))
		fi, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			removes = append(removes, it.Dest)
			continue
		}
		if err == nil {
			if unchanged(full, fi, path.Clean(it.Dest), ledger) {
				continue // the container already holds this content: an editor's touch, our own rescue
			}
			size += fi.Size()
		}
		writes = append(writes, it)
	}
	sort.Strings(removes)
	if len(writes) == 0 && len(removes) == 0 {
		res.Duration = time.Since(start)
		return res, nil
	}
	// Resolve --chown names first: during an upload the Engine holds the
	// container, so an exec then would wait forever.
	owners := &ownerCache{e: e, id: id, m: map[string][2]int{}}
	for _, it := range writes {
		if it.Rule != nil && it.Rule.Chown != "" {
			if _, _, err := owners.resolve(it.Rule.Chown); err != nil {
				return res, err
			}
		}
	}
	resolved := &ownerCache{m: owners.m} // no Engine: no exec while writing the tar
	before := res.Errors
	if len(writes) <= agentBatchFiles && size <= agentBatchLimit {
		if a := e.agentFor(ctx, id); a != nil {
			if err := e.syncViaAgent(ctx, a, hostDir, writes, removes, resolved, ledger, &res); err == nil {
				res.Duration = time.Since(start)
				return res, nil
			}
			e.dropAgent(id) // fall back to the archive API below, from scratch
			res = SyncResult{Errors: before}
		}
	}
	if err := e.syncViaArchive(ctx, id, hostDir, writes, removes, resolved, ledger, &res); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Batches up to these sizes go through the agent, built in memory; larger
// ones are streamed through the archive API, whose untar is faster for many
// files and whose memory stays flat for big ones.
const (
	agentBatchLimit = 8 << 20
	agentBatchFiles = 200
)

// syncViaAgent removes and writes through the container's agent.
func (e *Engine) syncViaAgent(ctx context.Context, a *agent, hostDir string, writes []watcher.SyncItem, removes []string, owners *ownerCache, ledger *Ledger, res *SyncResult) error {
	if len(removes) > 0 {
		if err := a.roundTrip('r', []byte(strings.Join(removes, "\x00")+"\x00")); err != nil {
			return err
		}
		res.Removed = len(removes)
		for _, r := range removes {
			ledger.set(r, "")
		}
	}
	if len(writes) == 0 {
		return nil
	}
	var buf bytes.Buffer
	var tw tarStats
	if err := writeSyncTar(ctx, &buf, hostDir, writes, owners, ledger, &tw); err != nil {
		return err
	}
	e.uploads.Add(1)
	if err := a.roundTrip('x', buf.Bytes()); err != nil {
		return err
	}
	if len(tw.removed) > 0 {
		if err := a.roundTrip('r', []byte(strings.Join(tw.removed, "\x00")+"\x00")); err != nil {
			return err
		}
	}
	res.Files, res.Bytes, res.Removed = tw.files, tw.bytes, res.Removed+len(tw.removed)
	res.Errors = append(res.Errors, tw.errs...)
	return nil
}

// syncViaArchive removes with one exec and writes with one streamed tar
// through CopyToContainer (PUT /containers/{id}/archive).
func (e *Engine) syncViaArchive(ctx context.Context, id, hostDir string, writes []watcher.SyncItem, removes []string, owners *ownerCache, ledger *Ledger, res *SyncResult) error {
	if len(removes) > 0 {
		if _, err := e.ExecOK(ctx, id, append([]string{"rm", "-rf", "--"}, removes...)...); err != nil {
			return fmt.Errorf("removing %d paths in the container: %w", len(removes), err)
		}
		res.Removed = len(removes)
		for _, r := range removes {
			ledger.set(r, "")
		}
	}
	if len(writes) == 0 {
		return nil
	}
	pr, pw := io.Pipe()
	var tw tarStats
	go func() {
		pw.CloseWithError(writeSyncTar(ctx, pw, hostDir, writes, owners, ledger, &tw))
	}()
	e.uploads.Add(1)
	err := e.api.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{CopyUIDGID: true, AllowOverwriteDirWithFile: true})
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("copying %d paths into the container: %w", len(writes), err)
	}
	res.Files, res.Bytes = tw.files, tw.bytes
	res.Errors = append(res.Errors, tw.errs...)
	res.Removed += len(tw.removed)
	if len(tw.removed) > 0 {
		if _, err := e.ExecOK(ctx, id, append([]string{"rm", "-rf", "--"}, tw.removed...)...); err != nil {
			return err
		}
	}
	return nil
}

// unchangedLimit bounds the files Sync hashes before sending: above it,
// hashing would cost about what sending does.
const unchangedLimit = 1 << 20

// unchanged reports whether a small regular file's content is what the
// ledger says tfdev last put at dest, so that sending it again would only
// replace the file under a reader (Jupyter, a running script) for nothing.
func unchanged(full string, fi fs.FileInfo, dest string, ledger *Ledger) bool {
	if !fi.Mode().IsRegular() || fi.Size() > unchangedLimit {
		return false
	}
	want, ok := ledger.Get(dest)
	if !ok {
		return false
	}
	got, err := FileSHA256(full)
	return err == nil && got == want
}

// safeDest refuses destinations that a bad rule could aim at the root.
func safeDest(d string) bool {
	d = path.Clean(d)
	return path.IsAbs(d) && d != "/"
}

type tarStats struct {
	files   int
	bytes   int64
	errs    []PathError
	removed []string // vanished between the first look and the tar
}

func writeSyncTar(ctx context.Context, w io.Writer, hostDir string, items []watcher.SyncItem, owners *ownerCache, ledger *Ledger, st *tarStats) error {
	tw := tar.NewWriter(w)
	for _, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err := addSyncEntry(tw, hostDir, it, owners, ledger, st)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			st.removed = append(st.removed, it.Dest)
			ledger.set(it.Dest, "")
		case errors.Is(err, errTarBroken):
			return err
		case err != nil:
			st.errs = append(st.errs, PathError{it.Path, err})
		}
	}
	return tw.Close()
}

var errTarBroken = errors.New("the upload broke")

func addSyncEntry(tw *tar.Writer, hostDir string, it watcher.SyncItem, owners *ownerCache, ledger *Ledger, st *tarStats) error {
	full := filepath.Join(hostDir, filepath.FromSlash(it.Path))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	var f *os.File
	switch {
	case fi.Mode().IsRegular():
		// Open first and stat the open file: the header then describes
		// exactly what is streamed.
		if f, err = os.Open(full); err != nil {
			return err
		}
		defer f.Close()
		if fi, err = f.Stat(); err != nil {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0, fi.IsDir():
	default:
		return fmt.Errorf("not a regular file, directory or symlink")
	}
	hdr, err := rootHeader(full, fi, strings.TrimPrefix(path.Clean(it.Dest), "/"))
	if err != nil {
		return err
	}
	if it.Rule != nil {
		if it.Rule.Chown != "" {
			uid, gid, err := owners.resolve(it.Rule.Chown)
			if err != nil {
				return err
			}
			hdr.Uid, hdr.Gid = uid, gid
		}
		if it.Rule.Chmod != "" && fi.Mode()&fs.ModeSymlink == 0 {
			m, err := strconv.ParseUint(it.Rule.Chmod, 8, 32)
			if err != nil {
				return fmt.Errorf("--chmod=%s: %w", it.Rule.Chmod, err)
			}
			hdr.Mode = int64(m)
		}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%w: %v", errTarBroken, err)
	}
	st.files++
	if f == nil {
		return nil
	}
	n, sum, err := copyHashed(tw, f, hdr.Size)
	st.bytes += n
	if err != nil {
		// The file shrank under us: the tar cannot be mended.
		return fmt.Errorf("%w: %s changed while being sent: %v", errTarBroken, it.Path, err)
	}
	ledger.set(path.Clean(it.Dest), sum)
	return nil
}

// ownerCache resolves COPY --chown values: numbers as they are, names
// through the container's own `id`.
type ownerCache struct {
	e  *Engine
	id string
	m  map[string][2]int
}

func (o *ownerCache) resolve(chown string) (int, int, error) {
	if v, ok := o.m[chown]; ok {
		return v[0], v[1], nil
	}
	if o.e == nil {
		return 0, 0, fmt.Errorf("--chown=%s was not resolved before the upload", chown)
	}
	user, group, hasGroup := strings.Cut(chown, ":")
	uid, err := o.number(user, "-u")
	if err != nil {
		return 0, 0, err
	}
	gid := uid
	if hasGroup {
		if gid, err = strconv.Atoi(group); err != nil {
			gid, err = o.number(user, "-g") // a group name: take the user's primary group
			if err != nil {
				return 0, 0, err
			}
		}
	} else if _, err := strconv.Atoi(user); err != nil {
		if gid, err = o.number(user, "-g"); err != nil {
			return 0, 0, err
		}
	}
	o.m[chown] = [2]int{uid, gid}
	return uid, gid, nil
}

func (o *ownerCache) number(name, flag string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	out, err := o.e.ExecOK(context.Background(), o.id, "id", flag, name)
	if err != nil {
		return 0, fmt.Errorf("--chown=%s: %w", name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}
