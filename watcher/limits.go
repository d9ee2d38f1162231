package watcher

import "syscall"

// The kernel's answers when inotify runs out of watches or instances.
var (
	errENOSPC error = syscall.ENOSPC
	errEMFILE error = syscall.EMFILE
)
