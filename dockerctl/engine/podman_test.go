package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/testpodman"
)

// noDockerHere points tfdev at no Docker Engine: no DOCKER_HOST, no
// context, and the default socket missing; XDG_RUNTIME_DIR is the test's.
func noDockerHere(t *testing.T) string {
	run := t.TempDir()
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("CONTAINER_HOST", "")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", run)
	old := defaultHost
	defaultHost = "unix://" + filepath.Join(run, "docker.sock")
	t.Cleanup(func() { defaultHost = old })
	return run
}

// With no Docker Engine answering, tfdev finds Podman's service on the
// user's socket ($XDG_RUNTIME_DIR/podman/podman.sock) and names it.
func TestConnectFindsPodman(t *testing.T) {
	testpodman.Need(t)
	run := noDockerHere(t)
	sock := filepath.Join(run, "podman", "podman.sock")
	testpodman.Serve(t, sock)
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if !e.Podman() || e.Addr() != "unix://"+sock || !strings.HasPrefix(e.Name(), "Podman 4.") || !strings.HasSuffix(e.Name(), "(rootful)") {
		t.Errorf("engine %q at %s, Podman %v", e.Name(), e.Addr(), e.Podman())
	}
	if err := e.Ping(context.Background()); err != nil {
		t.Errorf("a ping through the found socket: %v", err)
	}
}

// Podman installed, its service not running, no Docker Engine: the error
// names the command that starts the service.
func TestConnectSaysHowToStartPodman(t *testing.T) {
	testpodman.Need(t)
	noDockerHere(t)
	_, err := Connect(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "Podman is installed but its API service is not running") || !strings.Contains(err.Error(), "podman.socket") {
		t.Errorf("err = %v", err)
	}
}
