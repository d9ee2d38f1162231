package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
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

// On Podman, GPUs go as CDI device names through Podman's own API. There
// is no GPU here: the spec the test writes where Podman reads specs gives
// each device an environment variable instead of device nodes, so the
// container shows which devices it was given. Podman's service reads the
// specs when it starts, so the test starts one of its own after writing.
func TestPodmanGPUsThroughCDI(t *testing.T) {
	testpodman.Need(t)
	if os.Geteuid() != 0 {
		t.Skip("writing a CDI spec in " + cdiDirs[0] + " takes root")
	}
	ctx := context.Background()
	spec := filepath.Join(cdiDirs[0], "tfdev-test-"+nonce(t)+".json")
	if err := os.MkdirAll(cdiDirs[0], 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"cdiVersion":"0.5.0","kind":"nvidia.com/gpu","devices":[` +
		`{"name":"0","containerEdits":{"env":["TFDEV_CDI_0=1"]}},{"name":"1","containerEdits":{"env":["TFDEV_CDI_1=1"]}},` +
		`{"name":"all","containerEdits":{"env":["TFDEV_CDI_ALL=1"]}}],"containerEdits":{"env":["TFDEV_CDI=1"]}}`
	if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(spec) })
	sock := filepath.Join(t.TempDir(), "podman.sock")
	testpodman.Serve(t, sock)
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	e, err := Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := testimage.EnsureBusybox(ctx, e.API()); err != nil {
		t.Fatal(err)
	}
	gpu, _, err := e.Capabilities(ctx)
	if err != nil || !gpu.Available || !slices.Contains(gpu.CDI, "nvidia.com/gpu=all") || !strings.Contains(gpu.Why, spec) {
		t.Fatalf("%+v %v", gpu, err)
	}
	for flag, want := range map[string]string{"all": "TFDEV_CDI=1 TFDEV_CDI_ALL=1", "1": "TFDEV_CDI=1 TFDEV_CDI_0=1", "none": ""} {
		c, err := e.Create(ctx, model.RunOptions{Dir: t.TempDir(), Image: testimage.Busybox, GPUs: flag, GPU: gpu,
			Run: model.RunSettings{Cmd: []string{"sleep", "3600"}}})
		if err != nil {
			t.Fatalf("--gpus %s: %v", flag, err)
		}
		t.Cleanup(func() { e.Remove(context.Background(), c.ID) })
		if err := e.Start(ctx, c); err != nil {
			t.Fatalf("--gpus %s: %v", flag, err)
		}
		// CDI's environment is the container's own process's, not an exec's.
		got := strings.Join(strings.Fields(enginetest.Sh(t, e, c.ID, "tr '\\0' '\\n' < /proc/1/environ | grep ^TFDEV_CDI | sort; true")), " ")
		if insp, err := e.Inspect(ctx, c.ID); err != nil || insp.GPU != c.GPU {
			t.Errorf("--gpus %s: read back, GPU %v (%v)", flag, insp.GPU, err)
		}
		if got != want || c.GPU != (want != "") {
			t.Errorf("--gpus %s: the container has %q (GPU %v), want %q", flag, got, c.GPU, want)
		}
	}
}

// Podman without catatonit refuses every container tfdev makes (it runs
// an init to reap Jupyter's kernels): the error says what to install.
func TestCreateHintForPodmansInit(t *testing.T) {
	err := errors.New("Error response from daemon: container create: container-init binary not found on the host: stat /usr/libexec/podman/catatonit: no such file or directory")
	if h := createHint(err); !strings.Contains(h, "apt-get install catatonit") {
		t.Errorf("hint %q", h)
	}
	if h := createHint(errors.New("no such image")); h != "" {
		t.Errorf("hint for another error: %q", h)
	}
}
