package dockerctl

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

// RunSettings are the container settings a compose service or a dev
// container gives.
type RunSettings struct {
	Entrypoint  []string // nil: the image's
	Cmd         []string // nil: the image's
	WorkingDir  string
	User        string
	JupyterPort int // the container port Jupyter serves; 0: JupyterPort
	ShmSize     int64
	IPC         string
	Binds       []string          // volumes, as the Engine takes them
	Tmpfs       map[string]string // tmpfs mounts
}

func (r RunSettings) port() int {
	if r.JupyterPort > 0 {
		return r.JupyterPort
	}
	return JupyterPort
}

// containerConfig is the container's configuration: Jupyter's port
// published (or not), the token, tfdev's labels, and what the project's
// compose file or devcontainer.json says.
func containerConfig(o RunOptions, abs string, dev []container.DeviceRequest) (*container.Config, *container.HostConfig) {
	port := nat.Port(fmt.Sprintf("%d/tcp", o.Run.port()))
	cfg := &container.Config{
		Image:        o.Image,
		Env:          append(slices.Clone(o.Env), "JUPYTER_TOKEN="+o.Token),
		ExposedPorts: nat.PortSet{port: {}},
		Labels:       map[string]string{LabelProject: ProjectID(abs), LabelPath: abs},
		Entrypoint:   o.Run.Entrypoint,
		Cmd:          o.Run.Cmd,
		WorkingDir:   o.Run.WorkingDir,
		User:         o.Run.User,
	}
	if o.Run.JupyterPort > 0 {
		cfg.Labels[LabelPort] = strconv.Itoa(o.Run.JupyterPort)
	}
	if o.ViaExec {
		cfg.Labels[LabelVia] = "exec"
	}
	host := &container.HostConfig{
		PortBindings: nat.PortMap{port: {{HostIP: o.HostIP, HostPort: strconv.Itoa(o.HostPort)}}},
		Resources:    container.Resources{DeviceRequests: dev},
		Init:         boolPtr(true), // reap Jupyter's kernels
		ShmSize:      o.Run.ShmSize,
		IpcMode:      container.IpcMode(o.Run.IPC),
		Binds:        o.Run.Binds,
		Tmpfs:        o.Run.Tmpfs,
	}
	if o.ViaExec && !o.Publish {
		cfg.ExposedPorts, host.PortBindings = nil, nil
	}
	return cfg, host
}
