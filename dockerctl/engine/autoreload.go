package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
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
	code, err := e.ExecStream(ctx, id, model.ExecSpec{Cmd: []string{"sh", "-c", autoreloadPlace, "sh", autoreloadScript(paths)}}, func(l string) { lines = append(lines, l) })
	if err == nil && (code != 0 || len(lines) == 0) {
		err = fmt.Errorf("exit code %d: %s", code, strings.Join(lines, "; "))
	}
	if err != nil {
		return "", false, fmt.Errorf("turning on autoreload for the container's kernels: %w", err)
	}
	return lines[len(lines)-1], len(lines) > 1 && lines[0] == "existed", nil
}

// RunningKernels lists the IDs of the kernels the container's Jupyter runs.
func (e *Engine) RunningKernels(ctx context.Context, c *model.Container) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a Jupyter that hangs says nothing of its kernels
	defer cancel()
	ks, err := e.kernelClient(c).Kernels(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids, nil
}
