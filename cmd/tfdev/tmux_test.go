package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// standIn is a fixture on the busybox base whose httpd answers like Jupyter.
const standIn = `ARG BASE
FROM ${BASE}
RUN mkdir -p /www/api && echo '{}' > /www/api/status
WORKDIR /app
COPY requirements.txt ./
RUN cat requirements.txt
COPY . /app
CMD ["httpd", "-f", "-p", "8888", "-h", "/www"]
`

type tmux struct {
	t      *testing.T
	socket string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x tmux) screen() string { return x.run("capture-pane", "-p", "-t", "tfdev") }

// waitFor polls the screen until cond holds, with a generous deadline.
func (x tmux) waitFor(what string, cond func(string) bool) string {
	x.t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Minute)
	for {
		s := x.screen()
		if cond(s) {
			return s
		}
		select {
		case <-tick.C:
		case <-deadline:
			x.t.Fatalf("no %s on the screen:\n%s", what, s)
		}
	}
}

// TestTerminalUIUnderTmux runs the real binary in a real terminal (tmux)
// against the real Engine: the layers table and the ready URL show, an edit
// shows as a sync, and q ends it cleanly with the terminal restored.
func TestTerminalUIUnderTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed (Debian package tmux; .ci/run installs it)")
	}
	bin := tfdevBinary(t)
	engine(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(standIn), 0o644)
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy==1.24.2\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(1)\n"), 0o644)
	cleanupProject(t, dir)
	x := tmux{t: t, socket: fmt.Sprintf("tfdev-test-%d", time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	x.run("new-session", "-d", "-s", "tfdev", "-x", "100", "-y", "30",
		fmt.Sprintf("%s up -C %s --port 0 --build-arg BASE=%s", bin, dir, testimage.Busybox))
	x.run("set-option", "-t", "tfdev", "remain-on-exit", "on")

	s := x.waitFor("the ready URL", func(s string) bool { return strings.Contains(s, "● ready  http://127.0.0.1:") })
	for _, want := range []string{"STEP", "STATE", "COPY requirements.txt ./", "RUN cat requirements.txt", "COPY . /app", "live", "Activity", "q quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(2)\n"), 0o644)
	x.waitFor("the sync", func(s string) bool { return strings.Contains(s, "synced 1 file") && strings.Contains(s, "train.py") })

	x.run("send-keys", "-t", "tfdev", "q")
	x.waitFor("the end", func(string) bool {
		return strings.TrimSpace(x.run("display-message", "-p", "-t", "tfdev", "#{pane_dead}")) == "1"
	})
	s = x.screen()
	if !strings.Contains(s, "Pane is dead (status 0") { // tmux's own note with tfdev's exit status
		t.Errorf("no clean exit:\n%s", s)
	}
	if strings.Contains(s, "STEP") || strings.Contains(s, "Activity") {
		t.Errorf("the terminal was not restored:\n%s", s)
	}
}
