package engine

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/tfdev-dev/tfdev/watcher"
)

// A workspace that is (or holds) the home of the container's user, as in
// Jupyter's docker-stacks images (/home/jovyan), also holds that user's
// own state: Jupyter's runtime folder with its cookie secret and the file
// that holds its token, .jupyter, .ipython (with tfdev's own startup
// file), pip's and conda's caches. None of it is the project's: brought
// home, it would put the container's secrets in the project folder, and
// synced back into the next container, owned by whoever runs tfdev, it
// makes that container's Jupyter fail on its own files. So it is left
// alone, both ways, unless the project itself has it.

// HomeState are the names, in a user's home, of that user's own state.
var HomeState = []string{
	".local", ".jupyter", ".ipython", ".cache", ".config", ".conda", ".mamba", ".npm",
	".keras", ".nv", ".bash_history", ".python_history", ".wget-hsts", ".lesshst", ".viminfo",
}

// containerUsers remembers, per container, its user and that user's home.
type containerUsers struct {
	mu   sync.Mutex
	m    map[string][2]string // container ID -> user ("" root), home
	said map[string]bool      // container ID + state folder: said to be left alone
}

// containerUser is the user a container runs as ("" is root) and its
// home folder, as the container's own /etc/passwd says (read through the
// archive API, so a stopped container answers too).
func (e *Engine) containerUser(ctx context.Context, id string) (user, home string) {
	e.users.mu.Lock()
	if v, ok := e.users.m[id]; ok {
		e.users.mu.Unlock()
		return v[0], v[1]
	}
	e.users.mu.Unlock()
	if insp, err := e.api.ContainerInspect(ctx, id); err == nil && insp.Config != nil {
		user = insp.Config.User
	}
	// No passwd (a busybox image), or none readable: no home, and not
	// asked again (a sync must not pay for it each time).
	if rc, _, err := e.api.CopyFromContainer(ctx, id, "/etc/passwd"); err == nil {
		tr := tar.NewReader(rc)
		if _, err := tr.Next(); err == nil {
			passwd, _ := io.ReadAll(io.LimitReader(tr, 1<<20))
			home = homeIn(string(passwd), user)
		}
		rc.Close()
	}
	e.users.mu.Lock()
	defer e.users.mu.Unlock()
	if e.users.m == nil {
		e.users.m = map[string][2]string{}
	}
	e.users.m[id] = [2]string{user, home}
	return user, home
}

// homeIn is the home folder passwd gives user (a name or a uid, with or
// without ":group"; "" is root).
func homeIn(passwd, user string) string {
	name, _, _ := strings.Cut(user, ":")
	if name == "" {
		name = "0"
	}
	for _, line := range strings.Split(passwd, "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 6 && (f[0] == name || f[2] == name) {
			return f[5]
		}
	}
	return ""
}

// newlyAlone is, of the state folders states, those not said before for
// container id: each is said once per container.
func (e *Engine) newlyAlone(id string, states []string) []string {
	e.users.mu.Lock()
	defer e.users.mu.Unlock()
	if e.users.said == nil {
		e.users.said = map[string]bool{}
	}
	var out []string
	for _, s := range states {
		if !e.users.said[id+s] {
			e.users.said[id+s] = true
			out = append(out, s)
		}
	}
	return out
}

// leftAlone splits paths (in the container) into those that come home and
// the container user's own state under its home, which stays unless the
// project has that state itself (rules map it to a host path that
// exists); states are the state folders of what stays, each once.
func (e *Engine) leftAlone(ctx context.Context, id, hostDir string, rules watcher.Rules, paths []string) (keep, states []string) {
	_, home := e.containerUser(ctx, id)
	if home == "" || home == "/" {
		return paths, nil
	}
	for _, p := range paths {
		if state := homeStateOf(home, p); state != "" && !projectHas(hostDir, rules, state) {
			if !slices.Contains(states, state) {
				states = append(states, state)
			}
			continue
		}
		keep = append(keep, p)
	}
	return keep, states
}

// homeStateOf is the state folder or file of home that p is (or is in),
// "" when p is none.
func homeStateOf(home, p string) string {
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(home, "/")+"/")
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rel, "/")
	for _, s := range HomeState {
		if first == s {
			return path.Join(home, s)
		}
	}
	return ""
}

// projectHas reports whether the host's project has what the container
// path p maps to.
func projectHas(hostDir string, rules watcher.Rules, p string) bool {
	rel, mapped := watcher.HostPath(p, rules)
	if !mapped {
		return false
	}
	_, err := os.Lstat(filepath.Join(hostDir, filepath.FromSlash(rel)))
	return err == nil
}
