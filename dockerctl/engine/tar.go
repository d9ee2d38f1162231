package engine

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/tfdev-dev/tfdev/watcher"
)

// ContextTar streams the build context of dir as a tar: exactly the paths
// watcher.WalkContext lists (what `tfdev context` prints), plus the parent
// directories of included paths, with uid and gid 0 as the docker CLI sends
// them. extra names context-relative files that must be sent although the
// patterns exclude them (the Dockerfile, for the Engine to read).
//
// Files are streamed from disk, never read whole into memory.
func ContextTar(ctx context.Context, dir string, di *watcher.DockerIgnore, extra ...string) io.ReadCloser {
	return newContextTar(ctx, dir, di, extra)
}

// contextTar is a context tar being written; sent lists the context paths
// it holds once done is closed.
type contextTar struct {
	*io.PipeReader
	done  chan struct{}
	sent  []string
	sums  map[string]string // SHA-256 of each regular file sent
	bytes atomic.Int64      // read by the Engine so far
}

func (ct *contextTar) Read(p []byte) (int, error) {
	n, err := ct.PipeReader.Read(p)
	ct.bytes.Add(int64(n))
	return n, err
}

func newContextTar(ctx context.Context, dir string, di *watcher.DockerIgnore, extra []string) *contextTar {
	return newContextTarWith(ctx, dir, di, extra, nil)
}

// newContextTarWith is newContextTar with files from outside the project
// added under the names given (name -> absolute path).
func newContextTarWith(ctx context.Context, dir string, di *watcher.DockerIgnore, extra []string, outside map[string]string) *contextTar {
	pr, pw := io.Pipe()
	ct := &contextTar{PipeReader: pr, done: make(chan struct{}), sums: map[string]string{}}
	go func() {
		defer close(ct.done)
		pw.CloseWithError(writeContextTar(ctx, pw, dir, di, extra, outside, &ct.sent, ct.sums))
	}()
	return ct
}

func writeContextTar(ctx context.Context, w io.Writer, dir string, di *watcher.DockerIgnore, extra []string, outside map[string]string, sent *[]string, sums map[string]string) error {
	tw := tar.NewWriter(w)
	written := map[string]bool{}
	var ensureParents func(rel string) error
	ensureParents = func(rel string) error {
		parent := path.Dir(rel)
		if parent == "." || written[parent] {
			return nil
		}
		if err := ensureParents(parent); err != nil {
			return err
		}
		return addPath(tw, dir, parent, written, nil)
	}
	err := watcher.WalkContext(ctx, dir, di, func(e watcher.ContextEntry) error {
		if err := ensureParents(e.Rel); err != nil {
			return err
		}
		if !e.Mode.IsDir() {
			*sent = append(*sent, e.Rel)
		}
		return addPath(tw, dir, e.Rel, written, sums)
	})
	if err != nil {
		return err
	}
	for _, rel := range extra {
		if rel == "" || written[rel] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, rel)); err != nil {
			continue
		}
		if err := ensureParents(rel); err != nil {
			return err
		}
		if err := addPath(tw, dir, rel, written, nil); err != nil {
			return err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(outside)) {
		full := outside[name]
		fi, err := os.Stat(full)
		if err != nil {
			return err
		}
		hdr, err := rootHeader(full, fi, name)
		if err != nil {
			return err
		}
		if _, err := writeEntry(tw, full, hdr, true); err != nil {
			return err
		}
	}
	return tw.Close()
}

// addPath writes one file, directory or symlink, and records a regular
// file's SHA-256 in sums when sums is not nil.
func addPath(tw *tar.Writer, dir, rel string, written map[string]bool, sums map[string]string) error {
	full := filepath.Join(dir, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return err
	}
	hdr, err := rootHeader(full, fi, rel)
	if err != nil {
		return err
	}
	// Sub-second times vary between the tar and the Engine's cache key
	// for no gain; docker's own archiver truncates them too.
	hdr.ModTime = hdr.ModTime.Truncate(time.Second)
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	sum, err := writeEntry(tw, full, hdr, fi.Mode().IsRegular())
	if err != nil {
		return err
	}
	written[rel] = true
	if sums != nil && sum != "" {
		sums[rel] = sum
	}
	return nil
}

// writeEntry writes a tar header and, for a regular file, the file's
// content, returning its SHA-256. A file that grew since its header was
// made would overflow it: exactly the size announced is copied; a file
// that shrank fails, and the caller retries.
func writeEntry(tw *tar.Writer, full string, hdr *tar.Header, regular bool) (string, error) {
	if err := tw.WriteHeader(hdr); err != nil {
		return "", err
	}
	if !regular {
		return "", nil
	}
	f, err := os.Open(full)
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, sum, err := copyHashed(tw, f, hdr.Size)
	return sum, err
}

// rootHeader is the tar header of a file, directory or symlink at full,
// named name in the archive and owned by root (uid and gid 0, no names), as
// the docker CLI sends a context.
func rootHeader(full string, fi fs.FileInfo, name string) (*tar.Header, error) {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = os.Readlink(full); err != nil {
			return nil, err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return nil, err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	return hdr, nil
}

// spoolTar writes a tar with write, in memory, or through a temporary file
// when large: the agent's frame needs its length first.
func spoolTar(write func(io.Writer) error, large bool) (body io.Reader, n int64, release func(), err error) {
	if !large {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return nil, 0, nil, err
		}
		return &buf, int64(buf.Len()), func() {}, nil
	}
	f, err := os.CreateTemp("", "tfdev-sync-*.tar")
	if err != nil {
		return nil, 0, nil, err
	}
	release = func() { f.Close(); os.Remove(f.Name()) }
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		n, err = f.Seek(0, io.SeekCurrent)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		release()
		return nil, 0, nil, err
	}
	return bufio.NewReaderSize(f, 1<<20), n, release, nil
}
