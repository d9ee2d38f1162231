package dockerctl

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tfdev-dev/tfdev/watcher"
)

// Manifest hashes every regular file under roots in the container, in one
// exec: container path -> SHA-256.
func (e *Engine) Manifest(ctx context.Context, id string, roots []string) (map[string]string, error) {
	script := `for r in "$@"; do if [ -e "$r" ]; then find "$r" -type f -exec sha256sum {} +; fi; done`
	out, err := e.ExecOK(ctx, id, append([]string{"sh", "-c", script, "sh"}, roots...)...)
	if err != nil {
		return nil, fmt.Errorf("hashing the container's files: %w", err)
	}
	return parseSHA256Sum(out), nil
}

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
	for _, r := range rules.Steps {
		if r.Action == watcher.Sync && !seen[r.Dest] && safeDest(r.Dest) {
			seen[r.Dest] = true
			out = append(out, r.Dest)
		}
	}
	sort.Strings(out)
	return out
}

// Reconcile makes the container's synced paths match the host after events
// may have been missed (tfdev was not running, the kernel's queue
// overflowed, the container restarted): the container's files are hashed in
// one exec and diffed against the tree, and only differing files are sent.
//
// built lists the context paths the container's image was built from (nil
// when unknown): a synced path that the image had, that the host no longer
// has and that nobody changed in the container is removed there. Files made
// in the container are never removed.
func (e *Engine) Reconcile(ctx context.Context, id, hostDir string, rules watcher.Rules, built []string, ledger *Ledger) (SyncResult, error) {
	files, err := watcher.ListContext(ctx, hostDir, rules.Ignore)
	if err != nil {
		return SyncResult{}, fmt.Errorf("listing the project: %w", err)
	}
	manifest, err := e.Manifest(ctx, id, SyncRoots(rules))
	if err != nil {
		return SyncResult{}, err
	}
	var items []watcher.SyncItem
	onHost := map[string]bool{}
	for _, f := range files {
		onHost[f.Rel] = true
		d := watcher.Decide(f.Rel, false, rules)
		if d.Action != watcher.Sync {
			continue
		}
		if f.Mode.IsRegular() {
			sum, err := FileSHA256(filepath.Join(hostDir, filepath.FromSlash(f.Rel)))
			if err != nil {
				continue // gone since the listing: the watcher reports it
			}
			if manifest[path.Clean(d.Dest)] == sum {
				ledger.set(path.Clean(d.Dest), sum)
				continue
			}
			// The container's file is not what the ledger may say tfdev put
			// there: forget it, or Sync would skip this file as unchanged.
			ledger.set(path.Clean(d.Dest), "")
		}
		items = append(items, watcher.SyncItem{Change: watcher.Change{Path: f.Rel}, Dest: d.Dest, Rule: d.Rule})
	}
	var gone []watcher.SyncItem
	for _, p := range built {
		if onHost[p] {
			continue
		}
		d := watcher.Decide(p, false, rules)
		if _, inContainer := manifest[path.Clean(d.Dest)]; d.Action == watcher.Sync && inContainer {
			gone = append(gone, watcher.SyncItem{Change: watcher.Change{Path: p, Op: watcher.Removed}, Dest: d.Dest, Rule: d.Rule})
		}
	}
	if len(gone) > 0 {
		// Asked only when needed: on some storage drivers (fuse-overlayfs)
		// the Engine walks the whole filesystem to answer.
		changed, err := e.changedInContainer(ctx, id)
		if err != nil {
			return SyncResult{}, err
		}
		for _, it := range gone {
			if !changed[path.Clean(it.Dest)] {
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		return SyncResult{}, nil
	}
	return e.Sync(ctx, id, hostDir, items, ledger)
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
