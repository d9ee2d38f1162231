package engine

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// A synced model.py reaches the container in milliseconds, but a kernel
// that imported it minutes ago keeps the old code. tfdev tells each
// kernel which files a sync changed, and the kernel reloads exactly the
// modules it imported from them (reload.go). The IPython startup file
// tfdev puts in the profile of the container's kernels only prepares
// them: the project's sync destinations on sys.path, no bytecode written,
// and IPython's autoreload extension loaded but off (%autoreload 0), so
// nothing scans modules before each cell and a user's own %autoreload 2
// or %aimport -module works as typed. The file is tfdev's: it is not in
// the project, never comes home, and goes with the container.

// AutoreloadFile is the startup file's name, in the profile's startup
// folder.
const AutoreloadFile = "00-tfdev-autoreload.py"

// autoreloadScript is the startup file: IPython runs it in every new
// kernel. No bytecode is written by kernels: its one-second stamps would
// hide a second save within the same second.
func autoreloadScript(paths []string) string {
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = strconv.Quote(p)
	}
	return `# tfdev: this kernel reloads what tfdev syncs, and the project is on sys.path.
# Written by tfdev up; it goes with the container (tfdev up --autoreload=false leaves it out).
# tfdev tells the kernel which files changed after each sync: nothing runs before your cells.
def _tfdev_setup():
    import sys
    ip = get_ipython()
    if ip is None:
        return
    # Loaded and off: your own %autoreload 2, or %aimport -module to keep a
    # module as it is, works as typed.
    ip.run_line_magic("load_ext", "autoreload")
    ip.run_line_magic("autoreload", "0")
    for p in reversed([` + strings.Join(quoted, ", ") + `]):
        if p not in sys.path:
            sys.path.insert(0, p)
    # A .pyc records its source's time in whole seconds and its size: two
    # saves of the same size within a second would reload the first one's
    # bytecode. Kernels write none, so every reload compiles the source.
    sys.dont_write_bytecode = True
    # What reloads the modules tfdev syncs, before the next cell at the
    # latest (tfdev's scripts/reload.py, in a namespace of its own).
    import base64
    exec(base64.b64decode("` + base64.StdEncoding.EncodeToString([]byte(reloadPy)) + `").decode(), {"__name__": "__tfdev__", "ARGS": {"do": "install"}})
try:
    _tfdev_setup()
except Exception as e:
    print("tfdev: this kernel is not prepared for reloading:", e)
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
	code, err := e.ExecStream(ctx, id, model.ExecSpec{Cmd: []string{"sh", "-c", autoreloadPlace, "sh", autoreloadScript(paths)}}, func(l string) { lines = append(lines, l) })
	if err == nil && (code != 0 || len(lines) == 0) {
		err = fmt.Errorf("exit code %d: %s", code, strings.Join(lines, "; "))
	}
	if err != nil {
		return "", false, fmt.Errorf("turning on autoreload for the container's kernels: %w", err)
	}
	return lines[len(lines)-1], len(lines) > 1 && lines[0] == "existed", nil
}
