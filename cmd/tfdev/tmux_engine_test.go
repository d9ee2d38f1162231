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

// standInProject copies testdata/standin, the Jupyter stand-in on the
// busybox base, to a temp dir.
func standInProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "requirements.txt", "setup.cfg", "train.py"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "standin", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cleanupProject(t, dir)
	return dir
}

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
	needEngine(t)
	dir := standInProject(t)
	x := tmux{t: t, socket: fmt.Sprintf("tfdev-test-%d", time.Now().UnixNano())}
	t.Cleanup(func() { exec.Command("tmux", "-L", x.socket, "kill-server").Run() })
	// The shell stays after tfdev to show its exit status on the restored
	// screen.
	x.run("new-session", "-d", "-s", "tfdev", "-x", "100", "-y", "30",
		fmt.Sprintf("%s up -C %s --port 0 --build-arg BASE=%s; echo tfdev exited $?; sleep 600", bin, dir, testimage.Busybox))

	s := x.waitFor("the ready URL", func(s string) bool { return strings.Contains(s, "● ready  http://127.0.0.1:") })
	for _, want := range []string{"STEP", "STATE", "COPY requirements.txt setup.cfg ./", "RUN cat requirements.txt setup.cfg", "COPY . /app", "live", "Activity", "q quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(2)\n"), 0o644)
	x.waitFor("the sync", func(s string) bool { return strings.Contains(s, "synced 1 file") && strings.Contains(s, "train.py") })

	x.run("send-keys", "-t", "tfdev", "q")
	s = x.waitFor("the end", func(s string) bool { return strings.Contains(s, "tfdev exited") })
	if !strings.Contains(s, "tfdev exited 0") {
		t.Errorf("no clean exit:\n%s", s)
	}
	if strings.Contains(s, "STEP") || strings.Contains(s, "Activity") {
		t.Errorf("the terminal was not restored:\n%s", s)
	}
}
