package statefile

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// One session per project: a second TakeLock is refused with the holder's
// PID; a released lock, or one whose process died, is free.
func TestLockOneSessionPerProject(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	l, err := TakeLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pid := LockHolder(dir); pid != os.Getpid() {
		t.Errorf("holder %d, want %d", pid, os.Getpid())
	}
	_, err = TakeLock(dir)
	var held *HeldError
	if !errors.As(err, &held) || held.PID != os.Getpid() || !strings.Contains(err.Error(), "tfdev down") {
		t.Fatalf("second lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if pid := LockHolder(dir); pid != 0 {
		t.Errorf("released, yet held by %d", pid)
	}
	// A process that took the lock and died leaves it free.
	cmd := exec.Command("sh", "-c", "exec 9>>"+LockPath(dir)+" && flock -n 9 && echo 4242 >&9")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no flock(1) here: %v %s", err, out)
	}
	l, err = TakeLock(dir)
	if err != nil {
		t.Fatalf("a dead holder's lock: %v", err)
	}
	l.Release()
}
