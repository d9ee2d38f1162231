package model

import (
	"path"
	"time"

	"github.com/tfdev-dev/tfdev/watcher"
)

// ReconcileWork is what a reconcile found to move: files to send (Sync's
// guard still protects each), files to bring home.
type ReconcileWork struct {
	Push []watcher.SyncItem
	Pull map[string]string // container path -> its content's hash
}

// add sorts what came home into pulled files and conflicts.
func (res *SyncResult) Add(pulled []Rescued) {
	for _, r := range pulled {
		if r.Conflict {
			res.Conflicts = append(res.Conflicts, r)
		} else {
			res.Pulled = append(res.Pulled, r)
		}
	}
}

// SyncResult says what one Sync did.
type SyncResult struct {
	Files    int   // files, directories and links written
	Bytes    int64 // bytes of file content written
	Removed  int   // paths removed in the container
	Duration time.Duration
	Errors   []PathError // paths that could not be synced; the rest were
	// Conflicts are destinations the container changed since the last
	// agreement: left as they are there, their copies saved on the host.
	Conflicts []Rescued
	// Pulled are files a reconcile brought home: only the container had
	// changed them.
	Pulled []Rescued
}

// PathError is one path that could not be synced.
type PathError struct {
	Path string
	Err  error
}

func (e PathError) Error() string { return e.Path + ": " + e.Err.Error() }

// safeDest refuses destinations that a bad rule could aim at the root.
func SafeDest(d string) bool {
	d = path.Clean(d)
	return path.IsAbs(d) && d != "/"
}
