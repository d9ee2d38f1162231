package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// TestInitThenUp: a project made by tfdev init passes tfdev doctor and runs
// under tfdev up on the real Engine with the local Jupyter base.
func TestInitThenUp(t *testing.T) {
	needEngine(t)
	dir := filepath.Join(t.TempDir(), "fresh")
	os.MkdirAll(dir, 0o755)
	if out, stderr, code := tfdev(t, "init", "-C", dir, "--base", testimage.Jupyter); code != 0 || !strings.Contains(out, "wrote Dockerfile") {
		t.Fatalf("init: exit %d %s %s", code, out, stderr)
	}
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('hello')\n"), 0o644)
	if out, _, code := tfdev(t, "doctor", "-C", dir); code != 0 || !strings.Contains(out, "no findings") {
		t.Fatalf("doctor on the new project: exit %d\n%s", code, out)
	}
	if _, stderr, code := tfdev(t, "init", "-C", dir); code != 2 || !strings.Contains(stderr, "--force") {
		t.Errorf("a second init: exit %d %s", code, stderr)
	}

	up := startUp(t, dir, "--output", "json")
	_, before := up.nextEvent(event.Ready, nil)
	for _, e := range before {
		if e.Kind == event.Doctor {
			t.Errorf("doctor finding on an init project: %+v", e)
		}
	}
	up.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-up.done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no exit after SIGTERM")
	}
}

// TestUpReportsDoctorFindings: tfdev up shows doctor's findings once, as
// events, and goes on.
func TestUpReportsDoctorFindings(t *testing.T) {
	needEngine(t)
	dir := copyDemo(t)
	df := filepath.Join(dir, "Dockerfile")
	b, _ := os.ReadFile(df)
	os.WriteFile(df, []byte(strings.Replace(string(b), "--mount=type=cache,target=/root/.cache/pip ", "", 1)), 0o644)
	up := startUp(t, dir, "--output", "json")
	f, _ := up.nextEvent(event.Doctor, nil)
	if f.Severity != "info" || f.Line != 9 || !strings.Contains(f.Message, "cache mount") {
		t.Errorf("finding %+v", f)
	}
	up.nextEvent(event.Ready, nil)
	up.cmd.Process.Signal(syscall.SIGTERM)
	<-up.done
}
