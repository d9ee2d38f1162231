package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"path"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
)

// tfdev's programs in a container (the sync agent, the watcher of what is
// written there, the relay to Jupyter) run from files tfdev writes under
// ScriptDir, once per container in one archive upload, so that ps and top
// in the user's Jupyter terminal show `python3 -u /tmp/.tfdev/agent.py`,
// not kilobytes of script text. A container where they cannot be written
// (a read-only root, a tmpfs /tmp the archive API cannot reach) runs them
// from the command line as before: the same programs, a longer ps line.

// ScriptDir is the container folder tfdev's programs live in.
const ScriptDir = "/tmp/.tfdev"

// agentLauncher starts the Python agent where the image has python3, else
// the shell loop.
var agentLauncher = "if command -v python3 >/dev/null 2>&1; then exec python3 -u " + ScriptDir + "/agent.py; fi\n" + agentScript + "\n"

// watchLauncher starts the inotify watcher where the image has python3
// (exit 3: it cannot, e.g. no inotify), else the find poll.
var watchLauncher = `if command -v python3 >/dev/null 2>&1; then
  python3 -u ` + ScriptDir + `/watch.py "$@"; s=$?; [ $s -eq 3 ] || exit $s
fi
exec sh ` + ScriptDir + `/watch.sh "$@"
`

// scriptFiles are the files under ScriptDir.
func scriptFiles() map[string]string {
	return map[string]string{
		"agent.sh": agentLauncher, "agent.py": agentPy,
		"watch.sh": watchSh, "watch-start.sh": watchLauncher, "watch.py": watchPy,
		"relay.py": relayPy,
	}
}

// scriptsTar is the upload: ScriptDir and its files, owned by root,
// readable by every user (the relay runs as the image's user).
func scriptsTar() ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := ScriptDir[1:] + "/"
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: now}); err != nil {
		return nil, err
	}
	files := scriptFiles()
	for _, name := range []string{"agent.sh", "agent.py", "watch.sh", "watch-start.sh", "watch.py", "relay.py"} {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: path.Join(dir, name), Mode: 0o644, Size: int64(len(body)), ModTime: now}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), tw.Close()
}

// scriptPlaces remembers, per container, whether its scripts are in place.
type scriptPlaces struct {
	mu     sync.Mutex
	placed map[string]bool
}

// scriptsIn reports whether the container's scripts are in ScriptDir,
// writing them there on first use. false: run them from the command line.
func (e *Engine) scriptsIn(ctx context.Context, id string) bool {
	e.scripts.mu.Lock()
	defer e.scripts.mu.Unlock()
	if ok, known := e.scripts.placed[id]; known {
		return ok
	}
	if e.scripts.placed == nil {
		e.scripts.placed = map[string]bool{}
	}
	body, err := scriptsTar()
	if err == nil {
		err = e.api.CopyToContainer(ctx, id, "/", bytes.NewReader(body), container.CopyToContainerOptions{})
	}
	if ctx.Err() != nil {
		return false // not known: asked again next time
	}
	e.scripts.placed[id] = err == nil
	return err == nil
}

// agentCommand runs the sync agent.
func (e *Engine) agentCommand(ctx context.Context, id string) []string {
	if e.scriptsIn(ctx, id) {
		return []string{"sh", ScriptDir + "/agent.sh"}
	}
	return []string{"sh", "-c", "if command -v python3 >/dev/null 2>&1; then exec python3 -u -c \"$1\"; fi\n" + agentScript, "sh", agentPy}
}

// watchCommand runs the watcher over roots; env is what it needs there.
func (e *Engine) watchCommand(ctx context.Context, id string, roots []string) (cmd, env []string) {
	if e.scriptsIn(ctx, id) {
		return append([]string{"sh", ScriptDir + "/watch-start.sh"}, roots...), nil
	}
	wrapper := `if command -v python3 >/dev/null 2>&1; then
  python3 -u -c "$TFDEV_WATCH_PY" "$@"; s=$?; [ $s -eq 3 ] || exit $s
fi
eval "$TFDEV_WATCH_SH"`
	return append([]string{"sh", "-c", wrapper, "sh"}, roots...), []string{"TFDEV_WATCH_PY=" + watchPy, "TFDEV_WATCH_SH=" + watchSh}
}

// relayCommand runs the relay to Jupyter's port.
func (e *Engine) relayCommand(ctx context.Context, id, port string) []string {
	if e.scriptsIn(ctx, id) {
		return []string{"python3", "-u", ScriptDir + "/relay.py", port}
	}
	return []string{"python3", "-u", "-c", relayPy, port}
}
