package engine

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// containerConfig is the container's configuration: Jupyter's port
// published (or not), the token, tfdev's labels, and what the project's
// compose file or devcontainer.json says.
func containerConfig(o model.RunOptions, abs string, dev []container.DeviceRequest) (*container.Config, *container.HostConfig) {
	port := nat.Port(fmt.Sprintf("%d/tcp", o.Run.Port()))
	cfg := &container.Config{
		Image:        o.Image,
		Env:          append(slices.Clone(o.Env), "JUPYTER_TOKEN="+o.Token),
		ExposedPorts: nat.PortSet{port: {}},
		Labels:       map[string]string{model.LabelProject: model.ProjectID(abs), model.LabelPath: abs},
		Entrypoint:   o.Run.Entrypoint,
		Cmd:          o.Run.Cmd,
		WorkingDir:   o.Run.WorkingDir,
		User:         o.Run.User,
	}
	if o.Run.JupyterPort > 0 {
		cfg.Labels[model.LabelPort] = strconv.Itoa(o.Run.JupyterPort)
	}
	if o.ViaExec {
		cfg.Labels[model.LabelVia] = "exec"
	}
	host := &container.HostConfig{
		PortBindings: nat.PortMap{port: {{HostIP: o.HostIP, HostPort: strconv.Itoa(o.HostPort)}}},
		Resources:    container.Resources{DeviceRequests: dev},
		Init:         BoolPtr(true), // reap Jupyter's kernels
		ShmSize:      o.Run.ShmSize,
		IpcMode:      container.IpcMode(o.Run.IPC),
		Binds:        o.Run.Binds,
		Tmpfs:        o.Run.Tmpfs,
		// The project's containers share one volume where a replacement
		// carries kernels' variables from the old container to the new
		// one without copying them (carry.go).
		Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: CarryVolume(abs), Target: CarryDir,
			VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{model.LabelProject: model.ProjectID(abs), model.LabelPath: abs}}}},
	}
	if o.ViaExec && !o.Publish {
		cfg.ExposedPorts, host.PortBindings = nil, nil
	}
	return cfg, host
}
