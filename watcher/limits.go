package watcher

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// The kernel's answers when inotify runs out of watches or instances.
var (
	errENOSPC error = syscall.ENOSPC
	errEMFILE error = syscall.EMFILE
)

// LimitError is the kernel refusing another inotify watch or instance.
type LimitError struct {
	Setting string // fs.inotify.max_user_watches or max_user_instances
	Current string // its value now, as read from /proc
	Path    string
	Err     error
}

func (e *LimitError) Error() string {
	where := ""
	if e.Path != "" {
		where = " watching " + e.Path
	}
	return fmt.Sprintf("inotify limit reached%s: %s is %s; raise it with: sudo sysctl %s=%s "+
		"(or exclude large folders in .dockerignore or .tfdevignore): %v",
		where, e.Setting, e.Current, e.Setting, raised(e.Current), e.Err)
}

func (e *LimitError) Unwrap() error { return e.Err }

func raised(cur string) string {
	var n int
	if _, err := fmt.Sscan(cur, &n); err == nil && n > 0 {
		if n < 524288 {
			return "524288"
		}
		return fmt.Sprint(n * 2)
	}
	return "524288"
}

// limitError names the sysctl to raise when err is the kernel's refusal
// (ENOSPC for watches, EMFILE for instances); other errors pass through.
func limitError(err error, p string) error {
	setting := ""
	switch {
	case errors.Is(err, errENOSPC):
		setting = "fs.inotify.max_user_watches"
	case errors.Is(err, errEMFILE):
		setting = "fs.inotify.max_user_instances"
	default:
		if p != "" {
			return fmt.Errorf("watching %s: %w", p, err)
		}
		return err
	}
	cur := "unknown"
	if b, rerr := os.ReadFile("/proc/sys/" + strings.ReplaceAll(setting, ".", "/")); rerr == nil {
		cur = strings.TrimSpace(string(b))
	}
	return &LimitError{Setting: setting, Current: cur, Path: p, Err: err}
}
