package statefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Lock is the one session of a project: a file lock held by the running
// `tfdev up`. The kernel releases it when the process dies, so a stale
// lock is simply free.
type Lock struct{ f *os.File }

// LockPath is the project's lock file, beside its state file.
func LockPath(dir string) string {
	return strings.TrimSuffix(StatePath(dir), ".json") + ".lock"
}

// HeldError is a project whose session another process runs.
type HeldError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *HeldError) Error() string {
	who := "another tfdev up"
	if e.PID > 0 {
		who = fmt.Sprintf("another tfdev up (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s is running for %s: use that one, or stop it first (Ctrl-C there, or tfdev down)", who, e.Dir)
}

// TakeLock takes the project's lock for this process, or says who holds it.
func TakeLock(dir string) (*Lock, error) {
	p := LockPath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("the session lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid := readPID(f)
		_ = f.Close() // the lock is someone else's: nothing of ours to keep
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("the session lock %s: %w", p, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("the session lock %s: %w", p, err)
		}
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error { return l.f.Close() }

// LockHolder returns the PID of the process holding the project's lock,
// 0 when nobody holds it.
func LockHolder(dir string) int {
	f, err := os.Open(LockPath(dir))
	if err != nil {
		return 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		return 0 // free: the shared lock was granted (closing drops it)
	}
	return readPID(f)
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0) // a short or empty file reads as no PID
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}
