package engine

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/engine/kernel"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Carrying a kernel into a replacement: a kernel of the same kind starts in
// the new container and the notebooks tied to the old one are tied to it;
// the old kernel writes its variables to a folder (scripts/carry.py,
// through its shell channel as a page runs a cell), the folder goes from
// the old container to the new one as one archive stream through the
// Engine, and the new kernel reads them back.

//go:embed scripts/carry.py
var carryPy string

// carryStep bounds each step in a kernel (the variables of a big
// namespace take a while to write).
const carryStep = 5 * time.Minute

// CarryDir is where the project's containers share CarryVolume.
const CarryDir = "/tmp/.tfdev-carry"

// CarryVolume is the volume the project's containers share at CarryDir.
func CarryVolume(dir string) string { return "tfdev-carry-" + model.ProjectID(dir) }

// sharedCarry reports whether both containers mount the same volume at
// CarryDir (containers made before it was there do not), making it
// writable for every user when they do.
func (e *Engine) sharedCarry(ctx context.Context, from, to string) bool {
	vol := func(id string) string {
		info, err := e.api.ContainerInspect(ctx, id)
		if err != nil {
			return ""
		}
		for _, m := range info.Mounts {
			if m.Destination == CarryDir && m.Name != "" {
				return m.Name
			}
		}
		return ""
	}
	v := vol(from)
	if v == "" || v != vol(to) {
		return false
	}
	_, err := e.ExecOK(ctx, from, "chmod", "1777", CarryDir) // the kernel may run as any user
	return err == nil
}

// ErrKernelBusy: the kernel runs a cell; carrying would wait for it.
var ErrKernelBusy = errors.New("it was running a cell; waiting for the cell would hold the replacement for as long as it runs")

// kernelClient reaches c's Jupyter for REST calls and kernel WebSockets.
func (e *Engine) kernelClient(c *model.Container) *kernel.Client {
	rt := directKernels
	if c.Unpublished {
		id, port := c.ID, c.JupyterPort()
		rt = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return e.DialJupyter(ctx, id, port) }, DisableKeepAlives: true}
	}
	return &kernel.Client{Base: c.Base(), Token: c.Token, HTTP: &http.Client{Transport: rt}}
}

var directKernels = http.DefaultTransport.(*http.Transport).Clone()

// Kernels lists the kernels c's Jupyter runs, each with its sessions. A
// server with no kernels API (a stand-in, a server of another kind) runs
// none.
func (e *Engine) Kernels(ctx context.Context, c *model.Container) ([]model.Kernel, error) {
	kc := e.kernelClient(c)
	ks, err := kc.Kernels(ctx)
	var he *kernel.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ss, err := kc.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]model.Kernel, len(ks))
	for i, k := range ks {
		out[i] = model.Kernel{ID: k.ID, Name: k.Name, State: k.State}
		for _, s := range ss {
			if s.Kernel.ID == k.ID {
				out[i].Sessions = append(out[i].Sessions, model.KernelSession{ID: s.ID, Path: s.Path, Name: s.Name, Type: s.Type})
			}
		}
	}
	return out, nil
}

// CarryKernel starts a kernel like k in to, ties k's notebooks to it, and
// carries k's variables into it. An error says why the variables were not
// carried; the returned Carried still names the new kernel and sessions
// when they started, so the notebooks find an empty kernel there.
func (e *Engine) CarryKernel(ctx context.Context, from, to *model.Container, k model.Kernel, o model.CarryOptions) (model.Carried, error) {
	began := time.Now()
	out := model.Carried{Old: k.ID, Name: k.Name, Sessions: map[string]string{}}
	src, dst := e.kernelClient(from), e.kernelClient(to)
	id, err := dst.Start(ctx, k.Name)
	if err != nil {
		return out, fmt.Errorf("starting a %s kernel in the new container: %w", k.Name, err)
	}
	out.New = id
	for _, s := range k.Sessions {
		sid, err := dst.NewSession(ctx, kernel.Session{Path: s.Path, Name: s.Name, Type: s.Type, Kernel: kernel.Kernel{ID: id}})
		if err != nil {
			return out, fmt.Errorf("tying %s to the new kernel: %w", s.Path, err)
		}
		out.Sessions[s.ID] = sid
	}
	if k.State == "busy" {
		return out, ErrKernelBusy
	}
	limit := o.Cap
	if limit <= 0 {
		limit = model.DefaultCarryCap
	}
	var dumped struct {
		Dir, Pickler string
		Bytes        int64
		Left         map[string]string
	}
	args := map[string]any{"do": "dump", "cap": limit}
	shared := e.sharedCarry(ctx, from.ID, to.ID)
	if shared {
		args["root"] = CarryDir // the new container sees it there: nothing to copy
	}
	if err := runCarry(ctx, src, k.ID, args, &dumped); err != nil {
		return out, fmt.Errorf("writing its variables: %w", err)
	}
	out.Pickler, out.Bytes, out.Left = dumped.Pickler, dumped.Bytes, dumped.Left
	if !strings.HasPrefix(path.Base(dumped.Dir), "tfdev-carry-") {
		return out, fmt.Errorf("the kernel wrote its variables to %q, not a folder of tfdev's", dumped.Dir)
	}
	defer e.ExecOK(context.WithoutCancel(ctx), from.ID, "rm", "-rf", dumped.Dir) // the old container goes soon; tidy in case it stays
	if !shared {
		if err := e.copyBetween(ctx, from.ID, dumped.Dir, to.ID); err != nil {
			return out, fmt.Errorf("copying its variables (%d bytes) to the new container: %w", dumped.Bytes, err)
		}
	}
	var loaded struct {
		Names []string
		Left  map[string]string
	}
	if err := runCarry(ctx, dst, id, map[string]any{"do": "load", "dir": dumped.Dir}, &loaded); err != nil {
		return out, fmt.Errorf("reading its variables back: %w", err)
	}
	out.Names = loaded.Names
	for name, why := range loaded.Left {
		if out.Left == nil {
			out.Left = map[string]string{}
		}
		out.Left[name] = why
	}
	out.Took = time.Since(began)
	return out, nil
}

// runCarry runs scripts/carry.py in kernel id with args and decodes the
// JSON line it prints last into report, each step bounded.
func runCarry(ctx context.Context, kc *kernel.Client, id string, args map[string]any, report any) error {
	ctx, cancel := context.WithTimeout(ctx, carryStep)
	defer cancel()
	return runScript(ctx, kc, id, carryPy, args, report)
}

// runScript runs one of tfdev's kernel scripts in kernel id, silently and
// in a namespace of its own (ARGS holds args), and decodes the JSON line
// it prints last into report.
func runScript(ctx context.Context, kc *kernel.Client, id, script string, args map[string]any, report any) error {
	a, _ := json.Marshal(args)
	code := "exec(__import__('base64').b64decode('" + base64.StdEncoding.EncodeToString([]byte(script)) +
		"').decode(), {'__name__': '__tfdev__', 'ARGS': __import__('json').loads(" + strconv.Quote(string(a)) + ")})"
	out, err := kc.Execute(ctx, id, code)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), report); err != nil {
		return fmt.Errorf("the kernel's report %q: %w", lines[len(lines)-1], err)
	}
	return nil
}

// copyBetween copies the folder dir of container from into the same place
// in container to, as one archive stream through the Engine (nothing is
// held in tfdev's memory).
func (e *Engine) copyBetween(ctx context.Context, from, dir, to string) error {
	rc, _, err := e.api.CopyFromContainer(ctx, from, dir)
	if err != nil {
		return err
	}
	defer rc.Close()
	return e.api.CopyToContainer(ctx, to, path.Dir(dir), rc, container.CopyToContainerOptions{})
}
