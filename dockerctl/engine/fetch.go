package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// fetch streams the regular files at the container paths as one tar out of
// the running container (one exec of its own tar; a path that is gone is
// skipped) and hands each to fn with its header. Memory stays flat: fn
// reads the content from the stream.
func (e *Engine) fetch(ctx context.Context, id string, paths []string, fn func(p string, hdr *tar.Header, r io.Reader) error) error {
	if len(paths) == 0 {
		return nil
	}
	cmd := []string{"tar", "c", "-f", "-", "-C", "/"}
	for _, p := range paths {
		cmd = append(cmd, strings.TrimPrefix(path.Clean(p), "/"))
	}
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, User: execAsRoot, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return fmt.Errorf("reading files out of the container: %w", err)
	}
	att, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return fmt.Errorf("reading files out of the container: %w", err)
	}
	defer att.Close()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	go func() {
		_, err := stdcopy.StdCopy(pw, &limitedWriter{w: &stderr, n: 4096}, att.Reader)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading files out of the container: %w (%s)", err, strings.TrimSpace(stderr.String()))
		}
		if hdr.Typeflag != tar.TypeReg {
			continue // folders come file by file; links and devices are not work
		}
		if err := fn("/"+path.Clean(hdr.Name), hdr, tr); err != nil {
			return err
		}
	}
}

// limitedWriter keeps the first n bytes written to it and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// ConflictDir is where the container's side of a conflict goes:
// <project>/.tfdev/conflicts/<time>/<path>.
const ConflictDir = ".tfdev/conflicts"

// saveConflicts copies the container's version of each conflicting path
// to the conflicts folder, and records both versions in the ledger: the
// host's copy, changed on its own, stays where it is, and the user's next
// save of either (the merge) goes over as usual and resolves it.
func (e *Engine) saveConflicts(ctx context.Context, id, hostDir string, paths []string, rels map[string]string, ledger *model.Ledger) ([]model.Rescued, error) {
	stamp := time.Now().Format("20060102-150405")
	if len(paths) > 0 {
		if err := os.MkdirAll(filepath.Join(hostDir, ConflictDir), 0o755); err == nil {
			ignoredByGit(hostDir)
		}
	}
	var out []model.Rescued
	err := e.fetch(ctx, id, paths, func(p string, hdr *tar.Header, r io.Reader) error {
		rel, ok := rels[p]
		if !ok {
			rel = strings.TrimPrefix(p, "/")
		}
		target := filepath.Join(hostDir, ConflictDir, stamp, filepath.FromSlash(rel))
		sum, err := writeFileAtomic(target, r, fileMode(hdr))
		if err != nil {
			return fmt.Errorf("saving the container's %s: %w", p, err)
		}
		host := filepath.Join(hostDir, filepath.FromSlash(rels[p]))
		hostSum, _ := FileSHA256(host)
		ledger.SetConflict(p, hostSum, sum)
		out = append(out, model.Rescued{From: p, To: target, Conflict: true, Host: host, Bytes: hdr.Size})
		return nil
	})
	return out, err
}

func fileMode(hdr *tar.Header) os.FileMode {
	if m := os.FileMode(hdr.Mode).Perm(); m != 0 {
		return m
	}
	return 0o644
}

// writeFileAtomic streams r into target through a temporary file in the
// same folder and a rename, so the watcher (and the user) only ever see a
// whole file; it returns the content's SHA-256.
func writeFileAtomic(target string, r io.Reader, mode os.FileMode) (string, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".tfdev-tmp-*")
	if err != nil {
		return "", err
	}
	// On failure the half-written temp file goes; the error that stopped
	// the copy is the one to report.
	drop := func(err error) (string, error) {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return "", err
	}
	_, sum, err := copyHashed(tmp, r, -1)
	if err != nil {
		return drop(err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return drop(err)
	}
	if err := tmp.Close(); err != nil {
		return drop(err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return drop(err)
	}
	return sum, nil
}
