package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Create creates (does not start) the project's container. The name gets a
// suffix when taken, so a replacement can exist beside the old one.
func (e *Engine) Create(ctx context.Context, o model.RunOptions) (*model.Container, error) {
	if o.HostIP == "" {
		o.HostIP = "127.0.0.1"
	}
	if o.Token == "" {
		t, err := model.NewToken()
		if err != nil {
			return nil, err
		}
		o.Token = t
	}
	var dev []container.DeviceRequest
	var cdi []string
	var err error
	if len(o.GPU.CDI) > 0 {
		cdi, err = CDIRequest(o.GPUs, o.GPU)
	} else {
		dev, err = GPURequest(o.GPUs, o.GPU)
	}
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = model.ContainerName(abs)
	}
	cfg, host := containerConfig(o, abs, dev)
	if len(cdi) > 0 {
		cfg.Labels[model.LabelCDI] = strings.Join(cdi, ",")
	}
	for i := 0; ; i++ {
		n := name
		if i > 0 {
			n = fmt.Sprintf("%s-%d", name, i+1)
		}
		var created container.CreateResponse
		if len(cdi) > 0 {
			// Podman's Docker API takes no CDI device (4.x): its own does.
			created, err = e.createLibpod(ctx, cfg, host, n, cdi)
		} else {
			created, err = e.api.ContainerCreate(ctx, cfg, host, nil, nil, n)
		}
		if err != nil && strings.Contains(err.Error(), "already in use") && i < 20 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating the container from %s: %w%s", o.Image, err, createHint(err))
		}
		return &model.Container{ID: created.ID, Name: n, HostIP: o.HostIP, HostPort: o.HostPort, Token: o.Token, GPU: len(dev) > 0 || len(cdi) > 0, Unpublished: o.ViaExec, Port: o.Run.JupyterPort}, nil
	}
}

func BoolPtr(b bool) *bool { return &b }

// createHint says what to do about a create the Engine refused for want
// of something on its host.
func createHint(err error) string {
	if strings.Contains(err.Error(), "container-init binary not found") || strings.Contains(err.Error(), "catatonit") {
		// tfdev runs an init to reap Jupyter's kernels; Podman's is catatonit.
		return " (Podman runs catatonit as the containers' init, and it is not installed: apt-get install catatonit, or dnf install catatonit)"
	}
	return ""
}

// Start starts a created container. When its host port is taken, it moves
// to a free port (the Engine picks one) and says so through the returned
// container's HostPort.
func (e *Engine) Start(ctx context.Context, c *model.Container) error {
	err := e.api.ContainerStart(ctx, c.ID, container.StartOptions{})
	if err != nil && portTaken(err) {
		if err := e.rebindPort(ctx, c); err != nil {
			return err
		}
		err = e.api.ContainerStart(ctx, c.ID, container.StartOptions{})
	}
	if err != nil {
		return fmt.Errorf("starting %s: %w", c.Name, err)
	}
	return e.refresh(ctx, c)
}

func portTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "port is already allocated") || strings.Contains(s, "address already in use")
}

// rebindPort recreates a created container with host port 0.
func (e *Engine) rebindPort(ctx context.Context, c *model.Container) error {
	insp, err := e.api.ContainerInspect(ctx, c.ID)
	if err != nil {
		return err
	}
	host := insp.HostConfig
	for p, bs := range host.PortBindings {
		for i := range bs {
			bs[i].HostPort = "0"
		}
		host.PortBindings[p] = bs
	}
	if err := e.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
		return err
	}
	created, err := e.api.ContainerCreate(ctx, insp.Config, host, nil, nil, c.Name)
	if err != nil {
		return fmt.Errorf("recreating %s on a free port: %w", c.Name, err)
	}
	c.ID = created.ID
	return nil
}

// refresh reads back what the Engine decided: the host port, the image.
func (e *Engine) refresh(ctx context.Context, c *model.Container) error {
	insp, err := e.api.ContainerInspect(ctx, c.ID)
	if err != nil {
		return err
	}
	c.Image = insp.Image
	c.Name = strings.TrimPrefix(insp.Name, "/")
	if insp.Config != nil {
		c.Port, _ = strconv.Atoi(insp.Config.Labels[model.LabelPort]) // none: JupyterPort
		c.Workdir = insp.Config.WorkingDir
		c.ServedDir = dockerfile.ServedDirFromArgs(append(append([]string(nil), insp.Config.Entrypoint...), insp.Config.Cmd...))
		for _, kv := range insp.Config.Env {
			if v, ok := strings.CutPrefix(kv, "JUPYTER_TOKEN="); ok {
				c.Token = v
			}
		}
	}
	if insp.HostConfig != nil {
		c.GPU = len(insp.HostConfig.DeviceRequests) > 0 || insp.Config != nil && insp.Config.Labels[model.LabelCDI] != ""
	}
	if insp.State != nil {
		c.Running = insp.State.Running
		// A container that never started has no time here: zero is right.
		c.Started, _ = time.Parse(time.RFC3339Nano, insp.State.StartedAt)
	}
	c.Unpublished = insp.HostConfig != nil && len(insp.HostConfig.PortBindings) == 0 || insp.Config != nil && insp.Config.Labels[model.LabelVia] == "exec"
	if insp.NetworkSettings != nil {
		for _, b := range insp.NetworkSettings.Ports[nat.Port(fmt.Sprintf("%d/tcp", c.JupyterPort()))] {
			if p, err := strconv.Atoi(b.HostPort); err == nil {
				c.HostPort, c.HostIP = p, b.HostIP
				break
			}
		}
	}
	return nil
}

// listProject lists every container labelled with the project, running or
// not: what Find and ProjectContainers choose from.
func (e *Engine) listProject(ctx context.Context, dir string) ([]container.Summary, error) {
	list, err := e.api.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", model.LabelProject+"="+model.ProjectID(dir))),
	})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	return list, nil
}

// Find returns the project's running container, or nil when there is none.
func (e *Engine) Find(ctx context.Context, dir string) (*model.Container, error) {
	list, err := e.listProject(ctx, dir)
	if err != nil {
		return nil, err
	}
	for _, l := range list {
		if l.State == "running" {
			return e.Inspect(ctx, l.ID)
		}
	}
	return nil, nil
}

// ProjectContainers lists every container of the project, running or not.
func (e *Engine) ProjectContainers(ctx context.Context, dir string) ([]string, error) {
	list, err := e.listProject(ctx, dir)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	return ids, nil
}

// Rename gives a container a new name.
func (e *Engine) Rename(ctx context.Context, id, name string) error {
	if err := e.api.ContainerRename(ctx, id, name); err != nil {
		return fmt.Errorf("renaming the container to %s: %w", name, err)
	}
	return nil
}

// Stop stops a container, giving Jupyter time to shut its kernels down.
func (e *Engine) Stop(ctx context.Context, id string) error {
	e.dropAgent(id)
	timeout := 10
	if err := e.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stopping the container: %w", err)
	}
	return nil
}

// Remove removes a container (stopping it first if needed).
func (e *Engine) Remove(ctx context.Context, id string) error {
	e.dropAgent(id)
	var carry string // the project's carry volume, which goes with its last container
	if info, err := e.api.ContainerInspect(ctx, id); err == nil {
		for _, m := range info.Mounts {
			if m.Destination == CarryDir && strings.HasPrefix(m.Name, "tfdev-carry-") {
				carry = m.Name
			}
		}
	}
	err := e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !strings.Contains(err.Error(), "No such container") {
		return fmt.Errorf("removing the container: %w", err)
	}
	if carry != "" {
		_ = e.api.VolumeRemove(ctx, carry, false) // fails while another container of the project uses it: it stays for that one
	}
	return nil
}

// Inspect reads a container's state into a Container.
func (e *Engine) Inspect(ctx context.Context, id string) (*model.Container, error) {
	c := &model.Container{ID: id}
	if err := e.refresh(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// Resume starts a container that ran before (after a death, or when a
// replacement failed). Unlike Start it never recreates the container on
// another port: that would throw away what the user made in it.
func (e *Engine) Resume(ctx context.Context, c *model.Container) error {
	if err := e.api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting %s again: %w", c.Name, err)
	}
	return e.refresh(ctx, c)
}
