package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"
)

// Podman serves the Docker Engine API too, on a socket of its own, and
// builds with Buildah: tfdev finds that socket when no Docker Engine
// answers, and names the engine and its builder for what they are.

// defaultHost is the Docker Engine's socket, used when neither DOCKER_HOST
// nor a docker CLI context names another.
var defaultHost = client.DefaultDockerHost

// podmanHosts are the sockets where Podman serves the API, in the order
// Podman's own tools look: CONTAINER_HOST, the user's service (rootless),
// the system's.
func podmanHosts() []string {
	var out []string
	if h := os.Getenv("CONTAINER_HOST"); strings.HasPrefix(h, "unix://") {
		out = append(out, h)
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		out = append(out, "unix://"+filepath.Join(d, "podman", "podman.sock"))
	}
	return append(out, "unix:///run/podman/podman.sock")
}

// findPodman connects to the first Podman socket that answers, and
// returns its ping; nil when none does.
func findPodman(ctx context.Context, opts []client.Opt) (*client.Client, types.Ping) {
	for _, h := range podmanHosts() {
		if _, err := os.Stat(strings.TrimPrefix(h, "unix://")); err != nil {
			continue
		}
		cli, err := client.NewClientWithOpts(append(slices.Clone(opts), client.WithHost(h), client.WithAPIVersionNegotiation())...)
		if err != nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
		ping, err := cli.Ping(pctx)
		cancel()
		if err == nil {
			return cli, ping
		}
		_ = cli.Close()
	}
	return nil, types.Ping{}
}

// podmanHint is the command that starts Podman's API service, when Podman
// is installed ("" when it is not).
func podmanHint() string {
	if _, err := exec.LookPath("podman"); err != nil {
		return ""
	}
	start := "systemctl --user start podman.socket"
	if os.Geteuid() == 0 {
		start = "systemctl start podman.socket"
	}
	return "; Podman is installed but its API service is not running: start it with `" + start + "` (or `podman system service --time=0 &`), and tfdev finds it"
}

// identify reads which engine answers: its product and version, and
// whether it runs rootless.
func (e *Engine) identify(ctx context.Context) {
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return // unnamed: Name says so
	}
	e.Product, e.ProductVersion = "Docker Engine", v.Version
	for _, c := range v.Components {
		if c.Name == "Podman Engine" {
			e.Product, e.ProductVersion = "Podman", c.Version
		}
	}
	if e.Podman() {
		// Podman's Docker API leaves rootless out of its info: its own says.
		var info struct {
			Host struct {
				Security struct {
					Rootless bool `json:"rootless"`
				} `json:"security"`
			} `json:"host"`
		}
		// It gathers much (storage, network): a bound of its own.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if e.libpod(ictx, http.MethodGet, "/info", nil, &info) == nil {
			e.Rootless, e.rootKnown = info.Host.Security.Rootless, true
		}
		return
	}
	if info, err := e.api.Info(ctx); err == nil {
		e.rootKnown = true
		for _, o := range info.SecurityOptions {
			if strings.Contains(o, "name=rootless") {
				e.Rootless = true
			}
		}
	}
}

// libpod calls Podman's own API (path after /v4.0.0/libpod) and decodes
// its JSON answer into out; an answer that is not 2xx is an error with
// Podman's message.
func (e *Engine) libpod(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://podman/v4.0.0/libpod"+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.api.HTTPClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var msg struct {
			Message string `json:"message"`
		}
		json.NewDecoder(resp.Body).Decode(&msg)
		return fmt.Errorf("Podman: %s (%s)", msg.Message, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Podman reports whether the engine is Podman's API service.
func (e *Engine) Podman() bool { return e.Product == "Podman" }

// Name is the engine as the user knows it: "Podman 4.3.1 (rootful)",
// "Docker Engine 28.5.1", "... (rootless)".
func (e *Engine) Name() string {
	n := e.Product
	if n == "" {
		return "an engine that did not say which it is"
	}
	if e.ProductVersion != "" {
		n += " " + e.ProductVersion
	}
	switch {
	case e.Rootless:
		n += " (rootless)"
	case e.Podman() && e.rootKnown: // unknown: not said
		n += " (rootful)"
	}
	return n
}

// createLibpod creates the container through Podman's own API, which
// takes CDI device names (its Docker API, in 4.x, does not): the same
// container as cfg and host describe, with the devices cdi.
func (e *Engine) createLibpod(ctx context.Context, cfg *container.Config, host *container.HostConfig, name string, cdi []string) (container.CreateResponse, error) {
	type portMapping struct {
		HostIP        string `json:"host_ip,omitempty"`
		ContainerPort uint16 `json:"container_port"`
		HostPort      uint16 `json:"host_port,omitempty"`
		Protocol      string `json:"protocol"`
	}
	type mountSpec struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source,omitempty"`
		Options     []string `json:"options,omitempty"`
	}
	type volume struct {
		Name string `json:"Name"`
		Dest string `json:"Dest"`
	}
	spec := map[string]any{
		"name": name, "image": cfg.Image, "labels": cfg.Labels, "init": true,
		"entrypoint": []string(cfg.Entrypoint), "command": []string(cfg.Cmd),
		"work_dir": cfg.WorkingDir, "user": cfg.User,
	}
	env := map[string]string{}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	spec["env"] = env
	var devices []map[string]string
	for _, d := range cdi {
		devices = append(devices, map[string]string{"path": d})
	}
	spec["devices"] = devices
	var ports []portMapping
	for p, bs := range host.PortBindings {
		for _, b := range bs {
			hp, _ := strconv.Atoi(b.HostPort)
			ports = append(ports, portMapping{HostIP: b.HostIP, ContainerPort: uint16(p.Int()), HostPort: uint16(hp), Protocol: p.Proto()})
		}
	}
	spec["portmappings"] = ports
	if host.ShmSize > 0 {
		spec["shm_size"] = host.ShmSize
	}
	if m := string(host.IpcMode); m == "host" || m == "private" || m == "shareable" {
		spec["ipcns"] = map[string]string{"nsmode": m}
	}
	var mounts []mountSpec
	for _, b := range host.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 {
			return container.CreateResponse{}, fmt.Errorf("the bind %q: want SOURCE:TARGET[:OPTIONS]", b)
		}
		m := mountSpec{Source: parts[0], Destination: parts[1], Type: "bind"}
		if len(parts) > 2 {
			m.Options = strings.Split(parts[2], ",")
		}
		mounts = append(mounts, m)
	}
	for dst, opts := range host.Tmpfs {
		m := mountSpec{Destination: dst, Type: "tmpfs", Source: "tmpfs"}
		if opts != "" {
			m.Options = strings.Split(opts, ",")
		}
		mounts = append(mounts, m)
	}
	spec["mounts"] = mounts
	var vols []volume
	for _, m := range host.Mounts {
		if m.Type == mount.TypeVolume {
			vols = append(vols, volume{Name: m.Source, Dest: m.Target})
		}
	}
	spec["volumes"] = vols
	var out struct {
		ID       string   `json:"Id"`
		Warnings []string `json:"Warnings"`
	}
	if err := e.libpod(ctx, http.MethodPost, "/containers/create", spec, &out); err != nil {
		return container.CreateResponse{}, err
	}
	return container.CreateResponse{ID: out.ID, Warnings: out.Warnings}, nil
}
