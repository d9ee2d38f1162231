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
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Sync applies a batch's sync items to a running container. The host
// path's state at sync time wins over the event: a file that vanished since
// is removed. But nothing the user made in the container is lost: the
// guard first reads the container's state at every destination, and one
// the container changed since host and container last agreed (the ledger)
// is a conflict, left as it is in the container, its copy saved on the
// host under .tfdev/conflicts and reported in Conflicts. Then removals go
// in one round trip and every file, directory and symlink in one tar,
// through the container's agent or CopyToContainer. Files are streamed,
// never read whole into memory. With a nil ledger nothing is guarded: the
// host wins.
func (e *Engine) Sync(ctx context.Context, id, hostDir string, items []watcher.SyncItem, ledger *model.Ledger) (model.SyncResult, error) {
	start := time.Now()
	var res model.SyncResult
	sp := planSync(hostDir, items, ledger, &res)
	if len(sp.writes) == 0 && len(sp.removes) == 0 {
		res.Duration = time.Since(start)
		return res, nil
	}
	// Resolve --chown names first: during an upload the Engine holds the
	// container, so an exec then would wait forever.
	owners := &ownerCache{e: e, id: id, m: map[string][2]int{}}
	owners.mount, _ = e.containerUser(ctx, id)
	for _, it := range sp.writes {
		if chown := owners.of(it.Rule); chown != "" {
			if _, _, err := owners.resolve(chown); err != nil {
				return res, err
			}
		}
	}
	if a := e.AgentFor(ctx, id); ledger != nil && a != nil && a.guard {
		// The agent checks each path as it writes: one round, one lookup.
		before := res
		if done, err := e.syncGuarded(ctx, a, id, hostDir, sp, owners.resolved(), ledger, &res); done {
			res.Duration = time.Since(start)
			return res, err
		}
		e.dropAgent(id) // the guard below, then the archive API
		res = before
	}
	if ledger != nil { // no ledger, no agreement to keep: the host wins
		if err := e.guard(ctx, id, hostDir, &sp, ledger, &res); err != nil {
			return res, err
		}
	}
	resolved := owners.resolved() // no Engine: no exec while writing the tar
	before := res
	small := len(sp.writes) <= agentBatchFiles && sp.size <= agentBatchLimit
	if a := e.AgentFor(ctx, id); a != nil && (small || a.bulk) {
		if err := e.syncViaAgent(ctx, a, id, hostDir, sp.writes, sp.removes, !small, resolved, ledger, &res); err == nil {
			res.Duration = time.Since(start)
			return res, nil
		}
		e.dropAgent(id) // fall back to the archive API below, from scratch
		res = before
	}
	if err := e.syncViaArchive(ctx, id, hostDir, sp.writes, sp.removes, resolved, ledger, &res); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// syncPlan is a batch split into what to write and what to remove.
type syncPlan struct {
	writes  []watcher.SyncItem
	removes []string
	size    int64             // of what writes will send, as Lstat saw it
	sums    map[string]string // host content of small regular files, by destination
	files   map[string]bool   // destinations that are regular files on the host
	rels    map[string]string // destination -> host path (context-relative)
	modes   map[string]string // destination -> the permissions it should have, in octal
}

func planSync(hostDir string, items []watcher.SyncItem, ledger *model.Ledger, res *model.SyncResult) syncPlan {
	sp := syncPlan{sums: map[string]string{}, files: map[string]bool{}, rels: map[string]string{}, modes: map[string]string{}}
	for _, it := range items {
		if !model.SafeDest(it.Dest) {
			res.Errors = append(res.Errors, model.PathError{Path: it.Path, Err: fmt.Errorf("refusing to sync to %q", it.Dest)})
			continue
		}
		sp.rels[path.Clean(it.Dest)] = it.Path
		full := filepath.Join(hostDir, filepath.FromSlash(it.Path))
		fi, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			sp.removes = append(sp.removes, path.Clean(it.Dest))
			continue
		}
		if err == nil && fi.Mode().IsRegular() {
			dest := path.Clean(it.Dest)
			sp.files[dest] = true
			sp.modes[dest] = fmt.Sprintf("%o", fi.Mode().Perm())
			if it.Rule != nil && it.Rule.Chmod != "" {
				sp.modes[dest] = strings.TrimLeft(it.Rule.Chmod, "0")
			}
			if fi.Size() <= unchangedLimit {
				if sum, err := FileSHA256(full); err == nil {
					if want, ok := ledger.Agreed(dest); ok && want == sum && it.Op != watcher.ModeChanged {
						continue // the container already holds this content: an editor's touch, our own rescue
					}
					sp.sums[dest] = sum
				}
			}
			sp.size += fi.Size()
		}
		sp.writes = append(sp.writes, it)
	}
	sort.Strings(sp.removes)
	return sp
}

// guard drops from the plan every destination the container changed since
// the last agreement, saving the container's copy on the host.
func (e *Engine) guard(ctx context.Context, id, hostDir string, sp *syncPlan, ledger *model.Ledger, res *model.SyncResult) error {
	var dests []string
	for _, it := range sp.writes {
		if d := path.Clean(it.Dest); sp.files[d] {
			dests = append(dests, d)
		}
	}
	state, err := e.containerState(ctx, id, append(dests, sp.removes...))
	if err != nil {
		return err
	}
	var conflicts []string
	writes := sp.writes[:0]
	for _, it := range sp.writes {
		d := path.Clean(it.Dest)
		agreed, ok := ledger.Agreed(d)
		if ledger.Agrees(d, state.content[d]) {
			// The container still holds a version both sides know (the
			// agreed one, or its own side of a conflict): the host's save
			// goes over, and resolves the conflict.
			agreed, ok = state.content[d], true
		}
		v := guardWrite
		if sp.files[d] {
			v = guardOne(state.content[d], sp.sums[d], agreed, ok)
		}
		if v == guardSame && state.mode[d] != sp.modes[d] {
			v = guardWrite // the same content, other permissions (a chmod)
		}
		switch v {
		case guardSame:
			ledger.Set(d, state.content[d])
		case guardConflict:
			conflicts = append(conflicts, d)
		default:
			writes = append(writes, it)
		}
	}
	sp.writes = writes
	removes := sp.removes[:0]
	for _, d := range sp.removes {
		got := state.content[d]
		switch {
		case got == "", got == dirState, ledger.Agrees(d, got):
			removes = append(removes, d)
		default:
			conflicts = append(conflicts, d) // changed in the container: not deleted
		}
	}
	sp.removes = removes
	if len(conflicts) == 0 {
		return nil
	}
	saved, err := e.saveConflicts(ctx, id, hostDir, conflicts, sp.rels, ledger)
	res.Conflicts = append(res.Conflicts, saved...)
	return err
}

// Batches up to these sizes go through the agent, built in memory. Larger
// ones go through the agent too where the image has GNU tar, spooled
// through a temporary file (memory stays flat); else they are streamed
// through the archive API, whose untar is faster than busybox tar for many
// files.
const (
	agentBatchLimit = 8 << 20
	agentBatchFiles = 5000
)

// syncViaAgent removes and writes through the container's agent.
func (e *Engine) syncViaAgent(ctx context.Context, a *agent, id, hostDir string, writes []watcher.SyncItem, removes []string, large bool, owners *ownerCache, ledger *model.Ledger, res *model.SyncResult) error {
	var tw tarStats
	if a.stream && len(writes) > 0 {
		// Removals and writes in one round, the tar streamed as it is made.
		e.uploads.Add(1)
		if _, err := a.sendStream('s', nulList(deepestFirst(removes)), func(w io.Writer) error {
			return writeSyncTar(ctx, w, hostDir, writes, owners, ledger, &tw, nil)
		}); err != nil {
			return err
		}
		setRemoved(ledger, removes, res)
		res.Files, res.Bytes = tw.files, tw.bytes
		res.Errors = append(res.Errors, tw.errs...)
		return nil
	}
	if len(removes) > 0 {
		if _, err := a.roundTrip('r', nulList(deepestFirst(removes))); err != nil {
			return err
		}
		setRemoved(ledger, removes, res)
	}
	if len(writes) == 0 {
		return nil
	}
	body, n, release, err := spoolTar(func(w io.Writer) error {
		return writeSyncTar(ctx, w, hostDir, writes, owners, ledger, &tw, nil)
	}, large)
	if err != nil {
		return err
	}
	defer release()
	e.uploads.Add(1)
	if _, err := a.send('x', body, n); err != nil {
		return err
	}
	res.Files, res.Bytes = tw.files, tw.bytes
	res.Errors = append(res.Errors, tw.errs...)
	return nil
}

// setRemoved records removals done: in the result, and in the ledger as
// agreed on nothing.
func setRemoved(ledger *model.Ledger, removes []string, res *model.SyncResult) {
	res.Removed = len(removes)
	for _, r := range removes {
		ledger.Set(r, "")
	}
}

// syncViaArchive removes with one exec and writes with one streamed tar
// through CopyToContainer (PUT /containers/{id}/archive).
func (e *Engine) syncViaArchive(ctx context.Context, id, hostDir string, writes []watcher.SyncItem, removes []string, owners *ownerCache, ledger *model.Ledger, res *model.SyncResult) error {
	if len(removes) > 0 {
		if err := e.removeSafely(ctx, id, removes); err != nil {
			return err
		}
		res.Removed = len(removes)
		for _, r := range removes {
			ledger.Set(r, "")
		}
	}
	if len(writes) == 0 {
		return nil
	}
	pr, pw := io.Pipe()
	var tw tarStats
	go func() {
		pw.CloseWithError(writeSyncTar(ctx, pw, hostDir, writes, owners, ledger, &tw, nil))
	}()
	e.uploads.Add(1)
	err := e.api.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{AllowOverwriteDirWithFile: true})
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("copying %d paths into the container: %w", len(writes), err)
	}
	res.Files, res.Bytes = tw.files, tw.bytes
	res.Errors = append(res.Errors, tw.errs...)
	return nil
}

// unchangedLimit bounds the files Sync hashes before sending: above it,
// hashing would cost about what sending does.
const unchangedLimit = 1 << 20

type tarStats struct {
	files int
	bytes int64
	errs  []model.PathError
}

// writeSyncTar writes items as a tar; pax adds PAX records to the header of
// a destination (nil: none).
func writeSyncTar(ctx context.Context, w io.Writer, hostDir string, items []watcher.SyncItem, owners *ownerCache, ledger *model.Ledger, st *tarStats, pax func(dest string) map[string]string) error {
	tw := tar.NewWriter(w)
	made := map[string]bool{}
	for _, it := range items {
		if it.Rule != nil && it.Rule.Chown == "" && owners.of(it.Rule) != "" {
			made[path.Clean(it.Dest)] = true // a folder synced itself: its own entry says its owner
		}
	}
	for _, it := range items {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := addParents(tw, hostDir, it, owners, made); err != nil {
			return err
		}
		err := addSyncEntry(tw, hostDir, it, owners, ledger, st, pax)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Vanished since the first look: its removal event follows,
			// and the guard decides about it then.
		case errors.Is(err, errTarBroken):
			return err
		case err != nil:
			st.errs = append(st.errs, model.PathError{Path: it.Path, Err: err})
		}
	}
	return tw.Close()
}

var errTarBroken = errors.New("the upload broke")

// addParents gives the folders between a workspace (or bind mount) rule's
// destination and a file synced into it entries of their own, owned as
// the file is: the archive would otherwise make them root's, and Jupyter,
// running as the container's user, could not save a new notebook there.
// made holds the folders given an entry in this archive.
func addParents(tw *tar.Writer, hostDir string, it watcher.SyncItem, owners *ownerCache, made map[string]bool) error {
	r := it.Rule
	if r == nil || r.Chown != "" || !r.DestDir {
		return nil
	}
	owner := owners.of(r)
	if owner == "" {
		return nil
	}
	uid, gid, err := owners.resolve(owner)
	if err != nil {
		return err
	}
	type parent struct{ dest, rel string } // in the container, and on the host
	root := path.Clean(r.Dest)
	var parents []parent
	dest, rel := path.Dir(path.Clean(it.Dest)), path.Dir(filepath.ToSlash(it.Path))
	for strings.HasPrefix(dest, root+"/") && rel != "." && rel != "/" {
		parents = append(parents, parent{dest, rel})
		dest, rel = path.Dir(dest), path.Dir(rel)
	}
	for _, d := range slices.Backward(parents) { // outermost first
		if made[d.dest] {
			continue
		}
		made[d.dest] = true
		mode, mtime := int64(0o755), time.Now()
		if fi, err := os.Stat(filepath.Join(hostDir, filepath.FromSlash(d.rel))); err == nil {
			mode, mtime = int64(fi.Mode().Perm()), fi.ModTime()
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d.dest, "/") + "/", Mode: mode, Uid: uid, Gid: gid, ModTime: mtime}); err != nil {
			return fmt.Errorf("%w: %v", errTarBroken, err)
		}
	}
	return nil
}

func addSyncEntry(tw *tar.Writer, hostDir string, it watcher.SyncItem, owners *ownerCache, ledger *model.Ledger, st *tarStats, pax func(string) map[string]string) error {
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
		if chown := owners.of(it.Rule); chown != "" {
			uid, gid, err := owners.resolve(chown)
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
	if pax != nil && f != nil {
		hdr.PAXRecords = pax(path.Clean(it.Dest))
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
	ledger.Set(path.Clean(it.Dest), sum)
	return nil
}
