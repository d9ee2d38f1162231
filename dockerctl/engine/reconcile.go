package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// parseSHA256Sum reads `sha256sum` output, including the escaped form GNU
// coreutils uses for names with a newline or backslash.
func parseSHA256Sum(out []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		escaped := strings.HasPrefix(line, `\`)
		if escaped {
			line = line[1:]
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			continue
		}
		if escaped {
			name = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r").Replace(name)
		}
		m[name] = sum
	}
	return m
}

// SyncRoots are the container paths sync rules write to.
func SyncRoots(rules watcher.Rules) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rules.SyncRules() {
		if !seen[r.Dest] && model.SafeDest(r.Dest) {
			seen[r.Dest] = true
			out = append(out, r.Dest)
		}
	}
	sort.Strings(out)
	return out
}

// Reconcile brings the container's synced paths and the host into step
// after events may have been missed (tfdev was not running, the kernel's
// queue overflowed, the container restarted): the container's files are
// hashed in one exec and compared with the tree and with the ledger (what
// both sides last agreed on). A file only the host changed is sent; one
// only the container changed comes home; one both changed is a conflict,
// both kept. Only what differs moves.
//
// built lists the context paths the container's image was built from (nil
// when unknown): a synced path that the image had or that the ledger says
// both sides agreed on, that the host no longer has and that nobody changed
// in the container is removed there. Files made in the container are never
// removed.
func (e *Engine) Reconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.SyncResult, error) {
	w, err := e.PlanReconcile(ctx, id, hostDir, rules, built, ledger)
	if err != nil {
		return model.SyncResult{}, err
	}
	res, err := e.Sync(ctx, id, hostDir, w.Push, ledger)
	if err != nil {
		return res, err
	}
	pulled, err := e.PullHome(ctx, id, hostDir, rules, w.Pull, ledger, nil)
	res.Add(pulled)
	return res, err
}

// PlanReconcile is a reconcile's reading part: it compares and moves
// nothing, so the session runs it beside the loop and sends and brings home
// what it found as ordinary syncs and pulls, in order with the edits made
// meanwhile.
func (e *Engine) PlanReconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *model.Ledger) (model.ReconcileWork, error) {
	files, err := watcher.ListContext(ctx, hostDir, rules.Ignore)
	if err != nil {
		return model.ReconcileWork{}, fmt.Errorf("listing the project: %w", err)
	}
	built = agreedPaths(built, ledger, rules)
	manifest, err := e.quickManifest(ctx, id, hostDir, files, built, rules, ledger)
	if err != nil {
		return model.ReconcileWork{}, err
	}
	rp := reconcilePlan{manifest: manifest, ledger: ledger, onHost: map[string]bool{}, pull: map[string]string{}, sum: e.hostSum}
	for _, f := range files {
		rp.file(hostDir, f, rules)
	}
	gone, err := e.goneFromHost(ctx, id, built, &rp, rules)
	if err != nil {
		return model.ReconcileWork{}, err
	}
	return model.ReconcileWork{Push: append(rp.push, gone...), Pull: rp.pull}, nil
}

// agreedPaths adds to the paths an image was built from those the ledger
// says host and container agreed on since: a removal the host made after
// the container took a file from a sync (a branch switch cut short, the
// image of a later build than the container's) is then carried out too.
func agreedPaths(built []string, ledger *model.Ledger, rules watcher.Rules) []string {
	if ledger == nil {
		return built
	}
	seen := make(map[string]bool, len(built))
	for _, p := range built {
		seen[p] = true
	}
	out := slices.Clip(built) // appends never write into the caller's array
	for dest := range ledger.Snapshot() {
		if rel, ok := watcher.HostPath(dest, rules); ok && !seen[rel] {
			seen[rel] = true
			out = append(out, rel)
		}
	}
	return out
}

// reconcilePlan sorts the tree's synced files into what to send and what
// to bring home.
type reconcilePlan struct {
	manifest map[string]string
	ledger   *model.Ledger
	onHost   map[string]bool
	push     []watcher.SyncItem
	pull     map[string]string // container path -> its content's hash
	sum      func(string) (string, error)
}

func (rp *reconcilePlan) file(hostDir string, f watcher.ContextEntry, rules watcher.Rules) {
	rp.onHost[f.Rel] = true
	for _, d := range watcher.DecideAll(f.Rel, false, rules) {
		rp.dest(hostDir, f, d)
	}
}

// dest sorts one place a file of the tree lands in the container.
func (rp *reconcilePlan) dest(hostDir string, f watcher.ContextEntry, d watcher.Decision) {
	if d.Action != watcher.Sync {
		return
	}
	item := watcher.SyncItem{Change: watcher.Change{Path: f.Rel}, Dest: d.Dest, Rule: d.Rule}
	if !f.Mode.IsRegular() {
		rp.push = append(rp.push, item)
		return
	}
	sum, err := rp.sum(filepath.Join(hostDir, filepath.FromSlash(f.Rel)))
	if err != nil {
		return // gone since the listing: the watcher reports it
	}
	dest := path.Clean(d.Dest)
	got, inContainer := rp.manifest[dest]
	switch {
	case inContainer && got == sum:
		rp.ledger.Set(dest, sum)
	case rp.ledger != nil && inContainer && rp.ledger.Agrees(dest, sum) && rp.ledger.Agrees(dest, got):
		// A conflict neither side has saved since: both copies stay.
	case rp.ledger != nil && inContainer && rp.ledger.Agrees(dest, sum):
		rp.pull[dest] = got // only the container changed it: it comes home
	default:
		// Only the host changed it (or the container has none): sent. Both
		// changed: Sync's guard keeps both and says so.
		rp.push = append(rp.push, item)
	}
}

// hostSum is a host file's SHA-256, from the cache the builds keep (by
// path, size and time to the nanosecond) when the file is as it was then.
func (e *Engine) hostSum(full string) (string, error) {
	fi, err := os.Lstat(full)
	if err != nil {
		return "", err
	}
	key := sumKey{path: full, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sum, ok := e.sums.get(key); ok {
		return sum, nil
	}
	sum, err := FileSHA256(full)
	if err == nil {
		e.sums.put(key, sum)
	}
	return sum, err
}

// goneFromHost lists the removals of built paths the host deleted while
// tfdev was away and the container did not change.
func (e *Engine) goneFromHost(ctx context.Context, id string, built []string, rp *reconcilePlan, rules watcher.Rules) ([]watcher.SyncItem, error) {
	var gone []watcher.SyncItem
	var unknown []watcher.SyncItem
	for _, p := range built {
		if rp.onHost[p] {
			continue
		}
		d := watcher.Decide(p, false, rules)
		dest := path.Clean(d.Dest)
		got, inContainer := rp.manifest[dest]
		if d.Action != watcher.Sync || !inContainer {
			continue
		}
		it := watcher.SyncItem{Change: watcher.Change{Path: p, Op: watcher.Removed}, Dest: d.Dest, Rule: d.Rule}
		_, ok := rp.ledger.Get(dest)
		switch {
		case rp.ledger.Agrees(dest, got):
			gone = append(gone, it)
		case !ok:
			unknown = append(unknown, it)
		}
	}
	if len(unknown) > 0 {
		// No agreement recorded: ask the Engine what changed in the
		// container, only when needed: on some storage drivers
		// (fuse-overlayfs) it walks the whole filesystem to answer.
		changed, err := e.changedInContainer(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, it := range unknown {
			if dest := path.Clean(it.Dest); !changed[dest] {
				rp.ledger.Set(dest, rp.manifest[dest]) // the image's file: the removal may go
				gone = append(gone, it)
			}
		}
	}
	return gone, nil
}

// changedInContainer is the set of paths added or modified in the
// container since it was created (GET /containers/{id}/changes).
func (e *Engine) changedInContainer(ctx context.Context, id string) (map[string]bool, error) {
	diff, err := e.api.ContainerDiff(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading the container's changes: %w", err)
	}
	m := map[string]bool{}
	for _, c := range diff {
		if c.Kind != 2 { // 0 modified, 1 added, 2 deleted
			m[c.Path] = true
		}
	}
	return m, nil
}

// fileStat is a container file's size and modification time (seconds).
type fileStat struct {
	size  int64
	mtime int64
}

// statListing lists the regular files under roots in the container with
// their sizes and times, in one exec: far cheaper than hashing them.
func (e *Engine) statListing(ctx context.Context, id string, roots []string) (map[string]fileStat, error) {
	script := `for r in "$@"; do [ -d "$r" ] && find "$r" -type f -exec stat -c "%s %Y %n" {} +; done; exit 0`
	out, err := e.ExecOK(ctx, id, append([]string{"sh", "-c", script, "sh"}, roots...)...)
	if err != nil {
		return nil, fmt.Errorf("listing the container's files: %w", err)
	}
	m := map[string]fileStat{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 {
			continue
		}
		size, err1 := strconv.ParseInt(f[0], 10, 64)
		mtime, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 == nil && err2 == nil {
			m[f[2]] = fileStat{size, mtime}
		}
	}
	return m, nil
}

// quickManifest is the container's side of a reconcile, hashing only what
// may differ: a file whose size and time (tar and COPY keep the host's)
// match the host's, and that the ledger knows, is taken to hold the agreed
// content; so is one of the right size that nobody wrote since the
// container was made from the build that seeded the ledger. Only the
// others are hashed, in one round trip.
func (e *Engine) quickManifest(ctx context.Context, id, hostDir string, files []watcher.ContextEntry, built []string, rules watcher.Rules, ledger *model.Ledger) (map[string]string, error) {
	listing, err := e.statListing(ctx, id, SyncRoots(rules))
	if err != nil {
		return nil, err
	}
	manifest := map[string]string{}
	seen := map[string]bool{}
	var hash []string
	// In a container made from the build that seeded the ledger, a file
	// written before the container was (the image's, from a cached layer
	// whose times are another checkout's) holds what the ledger says.
	seeded := int64(math.MinInt64)
	if t := ledger.Seeded(); !t.IsZero() {
		seeded = t.Unix()
	}
	for _, f := range files {
		for _, d := range watcher.DecideAll(f.Rel, false, rules) {
			if d.Action != watcher.Sync || !f.Mode.IsRegular() {
				continue
			}
			dest := path.Clean(d.Dest)
			seen[dest] = true
			st, ok := listing[dest]
			if !ok {
				continue
			}
			if agreed, known := ledger.Agreed(dest); known && st.size == f.Size && (st.mtime == f.ModTime.Unix() || st.mtime < seeded) {
				manifest[dest] = agreed
				continue
			}
			hash = append(hash, dest)
		}
	}
	for _, p := range built { // removals: the container's content decides
		if dest, ok := watcher.SyncDest(p, rules); ok && !seen[path.Clean(dest)] {
			if _, inContainer := listing[path.Clean(dest)]; inContainer {
				hash = append(hash, path.Clean(dest))
			}
		}
	}
	state, err := e.containerState(ctx, id, hash)
	if err != nil {
		return nil, err
	}
	for _, p := range hash {
		if sum := state.content[p]; sum != "" && sum != dirState {
			manifest[p] = sum
		}
	}
	return manifest, nil
}
