package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// TestKeepStatusDown: up --keep leaves the container running; status shows
// it; down rescues what was made in it, then removes it.
func TestKeepStatusDown(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	upArgs := []string{"--output", "json", "--keep"}
	up := startUpWith(t, dir, testimage.Busybox, upArgs...)
	ready, _ := up.nextEvent(event.Ready, nil)
	up.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-up.done; err != nil {
		t.Fatalf("exit: %v", err)
	}

	out, stderr, code := tfdev(t, "status", "-C", dir, "--output", "json")
	var st struct {
		Running   bool
		Container string
		URL       string
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Running || st.Container != ready.Container || st.URL == "" {
		t.Fatalf("status: exit %d %q %s", code, out, stderr)
	}

	if _, err := eng.ExecOK(context.Background(), st.Container, "sh", "-c", "echo result > /app/output.txt"); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = tfdev(t, "down", "-C", dir)
	if code != 0 || !strings.Contains(out, "rescued /app/output.txt -> output.txt") || !strings.Contains(out, "removed container") {
		t.Fatalf("down: exit %d %q %s", code, out, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "output.txt")); string(b) != "result\n" {
		t.Errorf("rescued file %q", b)
	}
	if ids, _ := eng.ProjectContainers(context.Background(), dir); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}

// tfdev down beside a running tfdev up: it asks the session to stop (the
// session brings the files home and exits 0), then removes the container;
// status works beside the session meanwhile.
func TestDownStopsARunningSession(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	up := startUpWith(t, dir, testimage.Busybox, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	if out, stderr, code := tfdev(t, "status", "-C", dir); code != 0 || !strings.Contains(out, ready.Container) {
		t.Errorf("status beside the session: exit %d %q %s", code, out, stderr)
	}
	if _, err := eng.ExecOK(context.Background(), ready.Container, "sh", "-c", "echo late > /app/late.txt"); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := tfdev(t, "down", "-C", dir)
	if code != 0 || !strings.Contains(out, "asked the running tfdev up (pid") || !strings.Contains(out, "removed container") {
		t.Fatalf("down: exit %d %q %s", code, out, stderr)
	}
	waitExit(t, up)
	if b, _ := os.ReadFile(filepath.Join(dir, "late.txt")); string(b) != "late\n" {
		t.Errorf("late.txt on the host: %q", b)
	}
	if ids, _ := eng.ProjectContainers(context.Background(), dir); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}
