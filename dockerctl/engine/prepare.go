package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Prepare readies a created container before it starts: the files kept
// from earlier containers (KeptDir: notebooks made where no project path
// maps) go back to their places, and tfdev's start marker is laid, in one
// upload. The ledger learns what the kept files hold.
func (e *Engine) Prepare(ctx context.Context, id, hostDir string, ledger *model.Ledger) error {
	kept := filepath.Join(hostDir, KeptDir)
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writePrepareTar(pw, kept, ledger)) }()
	err := e.api.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{AllowOverwriteDirWithFile: false})
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("putting the kept files (%s) into the new container: %w", KeptDir, err)
	}
	return nil
}

func writePrepareTar(w io.Writer, kept string, ledger *model.Ledger) error {
	tw := tar.NewWriter(w)
	// Backdated: busybox's find compares whole seconds, so a file written
	// in the marker's own second must still count as newer. A file that
	// is not new after all is hashed and found to be known.
	mark := time.Now().Add(-2 * time.Second)
	if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(startMarker, "/"), Typeflag: tar.TypeReg, Mode: 0o644, ModTime: mark}); err != nil {
		return err
	}
	err := filepath.WalkDir(kept, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == kept {
			return fs.SkipAll // nothing kept yet
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(kept, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := rootHeader(p, fi, name)
		if err != nil {
			return err
		}
		sum, err := writeEntry(tw, p, hdr, true)
		if err != nil {
			return err
		}
		ledger.Set(path.Clean("/"+name), sum)
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
