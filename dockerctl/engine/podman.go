package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/docker/api/types"
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
	e.Product, e.ProductVersion = "Docker Engine", ""
	if v, err := e.api.ServerVersion(ctx); err == nil {
		e.ProductVersion = v.Version
		for _, c := range v.Components {
			if c.Name == "Podman Engine" {
				e.Product, e.ProductVersion = "Podman", c.Version
			}
		}
	}
	if info, err := e.api.Info(ctx); err == nil {
		for _, o := range info.SecurityOptions {
			if strings.Contains(o, "name=rootless") {
				e.Rootless = true
			}
		}
	}
}

// Podman reports whether the engine is Podman's API service.
func (e *Engine) Podman() bool { return e.Product == "Podman" }

// Name is the engine as the user knows it: "Podman 4.3.1 (rootful)",
// "Docker Engine 28.5.1", "... (rootless)".
func (e *Engine) Name() string {
	n := e.Product
	if n == "" {
		n = "Docker Engine"
	}
	if e.ProductVersion != "" {
		n += " " + e.ProductVersion
	}
	switch {
	case e.Rootless:
		n += " (rootless)"
	case e.Podman():
		n += " (rootful)"
	}
	return n
}
