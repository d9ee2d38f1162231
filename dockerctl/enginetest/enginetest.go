// Package enginetest holds what the Engine tests of several packages
// share: connecting once per test binary (a missing Engine fails the run
// when TFDEV_REQUIRE_ENGINE=1, as in CI), throwaway containers of the test
// images, and small file helpers. It needs only the Engine API client and
// a few of tfdev's own calls, so the engine adapter's own tests use it too.
//
//	func TestMain(m *testing.M) { os.Exit(enginetest.Main(m, "engine", connect)) }
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Main connects (connect returns what to close, or why it could not), runs
// the tests and returns the exit code. skip receives why Engine tests skip
// when no Engine answers.
func Main(m *testing.M, pkg string, connect func(ctx context.Context) (closer func(), err error), skip *string) int {
	closer, err := connect(context.Background())
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			fmt.Fprintf(os.Stderr, "%s: TFDEV_REQUIRE_ENGINE=1 and the Engine tests cannot run: %v\n", pkg, err)
			return 1
		}
		*skip = err.Error()
	}
	code := m.Run()
	if closer != nil {
		closer()
	}
	return code
}

// Nonce is a random hex string for names a test makes.
func Nonce(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// WriteFile writes content at dir/rel, making its folders.
func WriteFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// RemoveImageOnCleanup removes a tag (and the image when nothing else
// holds it) at the end of the test.
func RemoveImageOnCleanup(t testing.TB, api client.APIClient, ref string) {
	t.Cleanup(func() {
		api.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

// RunSleeping starts a container of image that sleeps, removed at the
// test's end.
func RunSleeping(t testing.TB, api client.APIClient, ref string) string {
	t.Helper()
	ctx := context.Background()
	init := true
	c, err := api.ContainerCreate(ctx, &container.Config{Image: ref, Entrypoint: []string{"sleep", "3600"}},
		&container.HostConfig{Init: &init}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		api.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	})
	if err := api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// Execer runs a command in a container: *engine.Engine.
type Execer interface {
	Exec(ctx context.Context, id string, cmd ...string) (model.ExecResult, error)
}

// Sh runs a shell script in the container and returns its output, trimmed.
func Sh(t testing.TB, eng Execer, id, script string) string {
	t.Helper()
	r, err := eng.Exec(context.Background(), id, "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(r.Stdout) + string(r.Stderr))
}

// AppRule syncs the project into /app.
var AppRule = &watcher.Rule{Source: ".", Dest: "/app", DestDir: true, Action: watcher.Sync}

// Item is the sync of project path p into /app.
func Item(p string, op watcher.Op) watcher.SyncItem {
	return watcher.SyncItem{Change: watcher.Change{Path: p, Op: op}, Dest: "/app/" + p, Rule: AppRule}
}

// NeedJupyter makes sure the real Jupyter base exists (made by make test,
// or here on first use: about three minutes).
func NeedJupyter(t testing.TB, api client.APIClient) {
	t.Helper()
	if err := testimage.EnsureJupyter(context.Background(), api, Discard{}); err != nil {
		t.Fatalf("the Jupyter test image: %v", err)
	}
}

// Discard is a log that keeps nothing.
type Discard struct{}

func (Discard) Write(p []byte) (int, error) { return len(p), nil }

// Runner creates and starts containers: *engine.Engine.
type Runner interface {
	Create(ctx context.Context, o model.RunOptions) (*model.Container, error)
	Start(ctx context.Context, c *model.Container) error
	Remove(ctx context.Context, id string) error
}

// RunJupyter starts a container of the Jupyter base for a throwaway
// project, removed at the test's end.
func RunJupyter(t testing.TB, eng Runner, o model.RunOptions) *model.Container {
	t.Helper()
	ctx := context.Background()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Image == "" {
		o.Image = testimage.Jupyter
	}
	c, err := eng.Create(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Remove(context.Background(), c.ID) })
	if err := eng.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Median of d (sorted in place).
func Median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// LoopDockerfile is a project whose requirements feed a RUN and whose
// source is copied last: what the loop's tests decide about.
const LoopDockerfile = "FROM tfdev-test/jupyter:bookworm\nWORKDIR /tf\nCOPY requirements.txt /tmp/requirements.txt\nRUN pip install -r /tmp/requirements.txt\nCOPY . /tf\n"

// Project writes a project with this Dockerfile, a requirements.txt and a
// train.py in a temporary folder, and loads it.
func Project(t testing.TB, dockerfileText string) *dockerfile.Project {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": dockerfileText, "requirements.txt": "numpy==1.24.2\n", "train.py": "print(1)\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildDir builds the Dockerfile in dir with build and removes the image
// at the end of the test.
func BuildDir(t testing.TB, api client.APIClient, dir string, build func(context.Context, *dockerfile.Project) (*model.BuildResult, error)) *model.BuildResult {
	t.Helper()
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := build(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	RemoveImageOnCleanup(t, api, res.ImageID)
	return res
}

// BigContext is a project whose context holds a 200 MB file (sparse on
// disk) beside its source.
func BigContext(t testing.TB, dockerfileText string) (string, *dockerfile.Project) {
	t.Helper()
	dir := t.TempDir()
	WriteFile(t, dir, "Dockerfile", dockerfileText)
	WriteFile(t, dir, ".dockerignore", "*.pyc\n")
	WriteFile(t, dir, "train.py", "print(1)\n")
	WriteFile(t, dir, "requirements.txt", "numpy\n")
	f, err := os.Create(filepath.Join(dir, "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil { // sparse on disk, 200 MB to read
		t.Fatal(err)
	}
	f.Close()
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, p
}
