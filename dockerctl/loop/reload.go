package loop

import (
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// KernelPathRoots are the container folders to put on the kernels'
// sys.path: the folders the project syncs into, as `import model` finds
// model.py there from a notebook served from another folder.
func KernelPathRoots(rules watcher.Rules) []string {
	var out []string
	for _, r := range rules.SyncRules() {
		if !model.SafeDest(r.Dest) {
			continue
		}
		d := r.Dest
		if !r.DestDir && cleanSourceIsFile(r.Source) {
			d = path.Dir(d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

func cleanSourceIsFile(src string) bool {
	s := strings.TrimSuffix(src, "/")
	return s != "." && s != "" && path.Ext(s) != ""
}

// ReloadNote says, for a sync of these host paths, which modules running
// kernels reload, and which changes a reload cannot
// apply (a C extension, a module removed or renamed): those need a
// kernel restart.
func ReloadNote(items []watcher.SyncItem, roots []string) (reload, restart []string) {
	for _, it := range items {
		dest := path.Clean(it.Dest)
		ext := path.Ext(dest)
		switch ext {
		case ".py", ".so", ".pyd":
		default:
			continue
		}
		mod := moduleName(dest, roots)
		if mod == "" {
			continue
		}
		switch {
		case ext != ".py":
			restart = append(restart, mod+" (a compiled extension)")
		case it.Op == watcher.Removed:
			restart = append(restart, mod+" (removed)")
		default:
			reload = append(reload, mod)
		}
	}
	sort.Strings(reload)
	sort.Strings(restart)
	return reload, restart
}

// ReloadFiles are the container's module files (.py, and compiled
// extensions) among a sync's items, under the roots kernels import from:
// the kernels are told of these.
func ReloadFiles(items []watcher.SyncItem, roots []string) []string {
	var out []string
	for _, it := range items {
		dest := path.Clean(it.Dest)
		switch path.Ext(dest) {
		case ".py", ".so", ".pyd":
			if moduleName(dest, roots) != "" {
				out = append(out, dest)
			}
		}
	}
	sort.Strings(out)
	return out
}

// moduleName is the dotted module a container file is, under the
// deepest root that holds it ("" when none does).
func moduleName(dest string, roots []string) string {
	best := ""
	for _, r := range roots {
		if strings.HasPrefix(dest, strings.TrimSuffix(r, "/")+"/") && len(r) > len(best) {
			best = r
		}
	}
	if best == "" {
		return ""
	}
	rel := strings.TrimPrefix(dest, strings.TrimSuffix(best, "/")+"/")
	rel = strings.TrimSuffix(rel, path.Ext(rel))
	if i := strings.Index(path.Base(rel), "."); i >= 0 { // fast.cpython-311-x86_64-linux-gnu.so
		rel = path.Join(path.Dir(rel), path.Base(rel)[:i])
	}
	rel = strings.TrimSuffix(strings.TrimSuffix(rel, "__init__"), "/")
	if rel == "" || rel == "." {
		return ""
	}
	return strings.ReplaceAll(rel, "/", ".")
}
