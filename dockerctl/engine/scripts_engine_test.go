package engine

import (
	"bufio"
	"context"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// commandLines lists the command line of every process in the container,
// as ps shows it.
func commandLines(t *testing.T, id string) []string {
	t.Helper()
	out := sh(t, id, `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done`)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// tfdev's agent, watcher and relay run from files under /tmp/.tfdev: ps in
// the user's terminal shows a short command, never a script's text.
func TestNoScriptTextOnACommandLine(t *testing.T) {
	requireEngine(t)
	check := func(t *testing.T, id string, want ...string) {
		t.Helper()
		lines := commandLines(t, id)
		all := strings.Join(lines, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("no process %q in:\n%s", w, all)
			}
		}
		for _, l := range lines {
			if len(l) > 200 || strings.Contains(l, "while read") || strings.Contains(l, "import ") {
				t.Errorf("a command line holds script text (%d bytes): %.120s...", len(l), l)
			}
		}
	}
	ctx := context.Background()
	t.Run("busybox", func(t *testing.T) {
		id := runBusybox(t)
		dir := t.TempDir()
		writeFile(t, dir, "train.py", "print(1)\n")
		if _, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("train.py", watcher.Changed)}, model.NewLedger()); err != nil {
			t.Fatal(err)
		}
		w, err := testEngine.WatchContainer(ctx, id, []string{"/app"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		check(t, id, "sh /tmp/.tfdev/agent.sh", "sh /tmp/.tfdev/watch.sh /app")
	})
	t.Run("jupyter", func(t *testing.T) {
		needJupyter(t)
		c := runJupyter(t, model.RunOptions{Image: testimage.Jupyter})
		if _, err := testEngine.WaitJupyter(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFile(t, dir, "train.py", "print(1)\n")
		if _, err := testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("train.py", watcher.Changed)}, model.NewLedger()); err != nil {
			t.Fatal(err)
		}
		w, err := testEngine.WatchContainer(ctx, c.ID, []string{"/tf"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		conn, err := testEngine.DialJupyter(ctx, c.ID, model.JupyterPort)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// An answer through the relay: its process runs.
		if _, err := conn.Write([]byte("GET /api HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("through the relay: %q, %v", line, err)
		}
		check(t, c.ID, "python3 -u /tmp/.tfdev/agent.py", "python3 -u /tmp/.tfdev/watch.py /tf", "python3 -u /tmp/.tfdev/relay.py 8888")
	})
}
