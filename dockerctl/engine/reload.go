package engine

import (
	"archive/tar"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Reload by push (scripts/reload.py): after a sync of module files, tfdev
// writes SignalFile in the container (each changed file with the stamp of
// its last change) before it says "synced", then tells every kernel, with
// a silent cell through its channels. Whichever comes first, the kernel's
// next cell (a hook that costs one stat when nothing changed) or tfdev's
// message, reloads exactly the modules that kernel imported from those
// files, with autoreload's complete semantics; the message brings back the
// outcome. No module is scanned before a cell; a kernel busy with a cell
// answers after it.

// SignalFile is where a container's kernels read what changed.
const SignalFile = ScriptDir + "/changed.json"

// Signal writes SignalFile: each changed module file with the stamp of its
// last change (newer stamps are reloaded), through the container's agent
// when it has one.
func (e *Engine) Signal(ctx context.Context, id string, files map[string]int64) error {
	body, _ := json.Marshal(map[string]any{"files": files})
	// Its time is the newest stamp, to the nanosecond (PAX keeps what a
	// plain tar header rounds to the second): the kernels' one stat sees a
	// new signal even when a save within the same second leaves its size
	// and its inode as they were.
	var newest int64
	for _, s := range files {
		newest = max(newest, s)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: SignalFile[1:], Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, newest), Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(body); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if a := e.AgentFor(ctx, id); a != nil {
		if _, err := a.roundTrip('x', buf.Bytes()); err == nil {
			return nil
		}
	}
	return e.api.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{})
}

//go:embed scripts/reload.py
var reloadPy string

// reloadWait bounds the wait for a kernel busy with a long cell.
const reloadWait = time.Hour

// ReloadKernels tells each kernel of c's Jupyter that files changed (each
// with the stamp of its last change, as in SignalFile); each result comes
// to each as that kernel answers.
func (e *Engine) ReloadKernels(ctx context.Context, c *model.Container, files map[string]int64, each func(model.KernelReload)) error {
	ks, err := e.Kernels(ctx, c)
	if err != nil {
		return err
	}
	if files == nil {
		files = map[string]int64{} // nothing changed yet: the kernels only get what tells them
	}
	kc := e.kernelClient(c)
	var wg sync.WaitGroup
	for _, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, reloadWait)
			defer cancel()
			var rep struct {
				Reloaded []string
				Failed   []model.ReloadFailure
			}
			err := runScript(ctx, kc, k.ID, reloadPy, map[string]any{"do": "reload", "files": files}, &rep)
			each(model.KernelReload{Kernel: k.ID, Reloaded: rep.Reloaded, Failed: rep.Failed, Err: err})
		}()
	}
	wg.Wait()
	return nil
}

// KernelImports lists, per kernel of c's Jupyter, the modules it imported
// from packages (a live install changed their version).
func (e *Engine) KernelImports(ctx context.Context, c *model.Container, packages []string) ([]model.KernelReload, error) {
	ks, err := e.Kernels(ctx, c)
	if err != nil {
		return nil, err
	}
	kc := e.kernelClient(c)
	out := make([]model.KernelReload, len(ks))
	var wg sync.WaitGroup
	for i, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, time.Minute) // a busy kernel is said as not asked
			defer cancel()
			var rep struct{ Imported []string }
			err := runScript(ctx, kc, k.ID, reloadPy, map[string]any{"do": "imports", "packages": packages}, &rep)
			out[i] = model.KernelReload{Kernel: k.ID, Imported: rep.Imported, Err: err}
		}()
	}
	wg.Wait()
	return out, nil
}
