package dockerctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// A synced model.py reaches the container in milliseconds, but a kernel
// that imported it minutes ago keeps the old code. tfdev puts an IPython
// startup file in the profile of the container's kernels that turns on
// autoreload for every module, and puts the project's sync destinations
// on sys.path, so each new kernel sees every edit at its next cell. The
// file is tfdev's: it is not in the project, never comes home, and goes
// with the container.

// AutoreloadFile is the startup file's name, in the profile's startup
// folder.
const AutoreloadFile = "00-tfdev-autoreload.py"

// autoreloadScript is the startup file: IPython runs it in every new
// kernel. %autoreload complete where the installed IPython has it (it also
// picks up new names), else 2 (every module, before each cell); and no
// bytecode written by kernels, whose one-second stamps would hide a second
// save within the same second.
func autoreloadScript(paths []string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	return `# tfdev: autoreload in every kernel of this container, and the project on sys.path.
# Written by tfdev up; it goes with the container (tfdev up --autoreload=false leaves it out).
def _tfdev_setup():
    import sys
    ip = get_ipython()
    if ip is None:
        return
    from IPython.extensions import autoreload
    ip.run_line_magic("load_ext", "autoreload")
    doc = autoreload.AutoreloadMagics.autoreload.__doc__ or ""
    ip.run_line_magic("autoreload", "complete" if "complete" in doc else "2")
    for p in reversed([` + strings.Join(quoted, ", ") + `]):
        if p not in sys.path:
            sys.path.insert(0, p)
    # A .pyc records its source's time in whole seconds and its size: two
    # saves of the same size within a second would reload the first one's
    # bytecode. Kernels write none, so every reload compiles the source.
    sys.dont_write_bytecode = True
try:
    _tfdev_setup()
except Exception as e:
    print("tfdev: autoreload is not on in this kernel:", e)
del _tfdev_setup
`
}

// autoreloadPlace is a shell script, run as the container's own user (the
// kernels' user), that writes the startup file into
// ${IPYTHONDIR:-$HOME/.ipython}/profile_default/startup and prints
// "existed" when one was there already, then the file's path.
const autoreloadPlace = `d="${IPYTHONDIR:-$HOME/.ipython}/profile_default/startup"
mkdir -p "$d" || exit 1
f="$d/` + AutoreloadFile + `"
[ -e "$f" ] && echo existed
printf '%s' "$1" > "$f" || exit 1
echo "$f"`

// PlaceAutoreload writes the startup file into the container for its
// kernels' user, with paths (the project's sync destinations) for
// sys.path. existed: a file was there before (kernels started since have
// autoreload).
func (e *Engine) PlaceAutoreload(ctx context.Context, id string, paths []string) (file string, existed bool, err error) {
	// As the container's own user: its home, its profile, its file.
	var lines []string
	code, err := e.ExecStream(ctx, id, ExecSpec{Cmd: []string{"sh", "-c", autoreloadPlace, "sh", autoreloadScript(paths)}}, func(l string) { lines = append(lines, l) })
	if err == nil && (code != 0 || len(lines) == 0) {
		err = fmt.Errorf("exit code %d: %s", code, strings.Join(lines, "; "))
	}
	if err != nil {
		return "", false, fmt.Errorf("turning on autoreload for the container's kernels: %w", err)
	}
	return lines[len(lines)-1], len(lines) > 1 && lines[0] == "existed", nil
}

// KernelPathRoots are the container folders to put on the kernels'
// sys.path: the folders the project syncs into, as `import model` finds
// model.py there from a notebook served from another folder.
func KernelPathRoots(rules watcher.Rules) []string {
	var out []string
	for _, r := range rules.SyncRules() {
		if !safeDest(r.Dest) {
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
// kernels reload at their next cell, and which changes autoreload cannot
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

// RunningKernels lists the kernels the container's Jupyter runs.
func (e *Engine) RunningKernels(ctx context.Context, c *Container) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base()+"/api/kernels", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "token "+c.Token)
	resp, err := e.jupyterClient(c).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/kernels answered %d", resp.StatusCode)
	}
	var ks []struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&ks); err != nil {
		return nil, err
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids, nil
}

// turnOnAutoreload places the startup file in a container that just
// started, or that tfdev reattached to; in the latter, kernels that were
// running before are not changed behind the user's back: tfdev says which
// lack autoreload and how they get it.
func (x *executor) turnOnAutoreload(ctx context.Context, p *dockerfile.Project, c *Container, reattached bool) {
	if x.o.NoAutoreload {
		return
	}
	_, existed, err := x.eng.PlaceAutoreload(ctx, c.ID, KernelPathRoots(p.Rules))
	if err != nil {
		x.emit(event.Event{Kind: event.Error, Container: c.Name, Message: err.Error() + "; edits reach kernels only after a restart or %autoreload"})
		return
	}
	if !reattached || existed {
		return
	}
	ids, err := x.eng.RunningKernels(ctx, c)
	if err != nil || len(ids) == 0 {
		return
	}
	x.emit(event.Event{Kind: event.Info, Container: c.Name, Message: fmt.Sprintf(
		"%d kernel(s) ran before tfdev turned autoreload on (%s): restart them, or run %%load_ext autoreload and %%autoreload 2 in them, for your edits to reach them; new kernels have it",
		len(ids), strings.Join(ids, ", "))})
}
