package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// Projects as they are, shaped like three public TensorFlow Jupyter
// projects and a dev container (testdata): tfdev up serves the user's code
// in Jupyter, an edit arrives, a requirements edit rebuilds (or, where
// nothing in the build reads requirements.txt, is synced), the shm size
// is the container's, and a GPU request runs on CPU here, saying why.
func TestProjectsAsTheyAre(t *testing.T) {
	for _, c := range []struct {
		fixture     string
		env         []string
		base        string // --build-arg BASE; "" leaves it to the project's files
		configured  string // the project event's "configured by"
		list        string // the Jupyter folder (contents API) that lists the code
		code        string // where model.py is in the container
		shm         int64
		gpu         bool // the files ask for GPUs
		reqRebuilds bool
	}{
		{"compose-mount", []string{"TFDEV_BASE=" + testimage.Jupyter}, "", "compose.yaml, service notebook", "home", "/tf/home/model.py", 1 << 30, true, false},
		{"requirements-only", nil, testimage.Jupyter, "", "", "/tf/model.py", 0, false, true},
		{"workdir-cmd", nil, testimage.Jupyter, "", "", "/app/model.py", 0, false, true},
		{"app-vs-tf", nil, testimage.Jupyter, "compose.yaml, service lab", "", "/app/model.py", 512 << 20, false, true},
		{"devcontainer", nil, testimage.Jupyter, ".devcontainer/devcontainer.json", "", "/tf/work/model.py", 2 << 30, true, true},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			eng := needEngine(t)
			dir := copyFixture(t, c.fixture)
			t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", c.fixture+"_pip-cache").Run() })
			up := startUpEnv(t, dir, c.base, c.env, "--output", "json", "--deps", "rebuild")
			project, _ := up.nextEvent(event.Project, nil)
			if c.configured != "" && !strings.Contains(project.Message, "configured by "+c.configured) {
				t.Errorf("the first event does not say what configured the session: %s", project.Message)
			}
			ready, before := up.nextEvent(event.Ready, nil)
			saidCPU := false
			for _, e := range before {
				saidCPU = saidCPU || e.Kind == event.Info && strings.Contains(e.Message, "asks for GPUs") && strings.Contains(e.Message, "running on CPU")
			}
			if saidCPU != c.gpu {
				t.Errorf("said the GPU request runs on CPU: %v, want %v", saidCPU, c.gpu)
			}
			m := tokenRe.FindStringSubmatch(ready.URL)
			if names := contentNames(t, m[1]+"/api/contents/"+c.list, m[2]); !strings.Contains(names, " model.py ") {
				t.Errorf("Jupyter lists %q in /%s: not the project's code", names, c.list)
			}
			if err := os.WriteFile(filepath.Join(dir, "model.py"), []byte("def f():\n    return 42\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "model.py") })
			if got := containerFile(t, eng, ready.Container, c.code); got != "def f():\n    return 42\n" {
				t.Errorf("%s in the container: %q", c.code, got)
			}
			if c.shm > 0 {
				out, err := exec.Command("docker", "inspect", "-f", "{{.HostConfig.ShmSize}}", ready.Container).Output()
				if got, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err != nil || got != c.shm {
					t.Errorf("shm size %s (%v), want %d", out, err, c.shm)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy==1.24.2\n# pinned\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.reqRebuilds {
				up.nextEvent(event.BuildDone, nil)
				up.nextEvent(event.Ready, nil)
			} else {
				up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "requirements.txt") })
			}
			up.stop()
		})
	}
}

// contentNames lists a Jupyter folder through its contents API, as
// " a b c ".
func contentNames(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var folder struct {
		Content []struct{ Name string } `json:"content"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&folder); err != nil {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	names := " "
	for _, e := range folder.Content {
		names += e.Name + " "
	}
	return names
}

// explain says where a compose mount or the workspace puts a file, and why.
func TestExplainProjectsAsTheyAre(t *testing.T) {
	needEngine(t) // the base image's Jupyter folder comes from the Engine
	for _, c := range []struct {
		fixture string
		args    []string
		want    string
	}{
		{"compose-mount", nil, "model.py  sync → /tf/home/model.py  (compose.yaml:10 volume .:/tf/home)\n"},
		{"requirements-only", []string{"--build-arg", "BASE=" + testimage.Jupyter}, "model.py  sync → /tf/model.py  (workspace: the Dockerfile copies no source)\n"},
		{"devcontainer", []string{"--build-arg", "BASE=" + testimage.Jupyter}, "model.py  sync → /tf/work/model.py  (workspace: the Dockerfile copies no source)\n"},
	} {
		out, stderr, code := tfdev(t, append([]string{"explain", "-C", filepath.Join("..", "..", "testdata", c.fixture), "model.py"}, c.args...)...)
		if code != 0 || !strings.HasPrefix(out, c.want) {
			t.Errorf("%s: exit %d\n%s%s\nwant %s", c.fixture, code, out, stderr, c.want)
		}
	}
}

// A compose file under another name, named by COMPOSE_FILE as docker
// compose takes it, with a mount from the project's .env: tfdev runs its
// service, Jupyter serves the code, and the mounted folder syncs.
func TestComposeFileByName(t *testing.T) {
	eng := needEngine(t)
	dir := copyFixture(t, "compose-named")
	up := startUpEnv(t, dir, "", []string{"TFDEV_BASE=" + testimage.Jupyter, "COMPOSE_FILE=compose.jupyter.yaml"}, "--output", "json")
	project, _ := up.nextEvent(event.Project, nil)
	if !strings.Contains(project.Message, "configured by compose.jupyter.yaml, service jupyter") {
		t.Errorf("the project event: %s", project.Message)
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if names := contentNames(t, m[1]+"/api/contents/", m[2]); !strings.Contains(names, " model.py ") {
		t.Errorf("Jupyter lists %q: not the project's code", names)
	}
	if got := containerFile(t, eng, ready.Container, "/data/images/cat-001.txt"); got != "a label\n" {
		t.Errorf("the .env's TRAIN_DIR mount: %q", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", "cat-002.txt"), []byte("another\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "cat-002.txt") })
	if got := containerFile(t, eng, ready.Container, "/data/images/cat-002.txt"); got != "another\n" {
		t.Errorf("a new image in the mounted folder: %q", got)
	}
	up.stop()
}

// An image whose command is not Jupyter (bash, as tensorflow/tensorflow's
// non-jupyter images): tfdev starts the image's Jupyter itself, serving the
// code's folder; an image with no Jupyter is one clear error and no
// container, not a crash loop.
func TestImagesThatDoNotStartJupyter(t *testing.T) {
	needEngine(t)
	dir := copyFixture(t, "bash-cmd")
	up := startUpWith(t, dir, testimage.Jupyter, "--output", "json")
	said, _ := up.nextEvent(event.Info, func(e event.Event) bool { return strings.Contains(e.Message, "does not start Jupyter") })
	if !strings.Contains(said.Message, "the image's command (bash) does not start Jupyter: tfdev starts jupyter notebook, serving /work") {
		t.Errorf("said %q", said.Message)
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if names := contentNames(t, m[1]+"/api/contents/", m[2]); !strings.Contains(names, " model.py ") {
		t.Errorf("Jupyter lists %q: not the project's code", names)
	}
	up.stop()

	dir = copyFixture(t, "bash-cmd")
	up = startUpWith(t, dir, testimage.Busybox, "--output", "json")
	e, passed := up.nextEvent(event.Error, nil)
	if !strings.Contains(e.Message, "the image has no Jupyter: its command (bash) does not start one") || !strings.Contains(e.Message, "RUN pip install jupyterlab") {
		t.Errorf("the error: %q", e.Message)
	}
	for _, p := range passed {
		if p.Kind == event.Container || p.Kind == event.ContainerEnd {
			t.Errorf("a container ran: %s", p.Plain())
		}
	}
	up.stop()
}

// A dev container's lifecycle: initializeCommand on the host first; in the
// container postCreateCommand (object form: each named command) once and
// postStartCommand at each start, with containerEnv, in the workspace,
// which Jupyter serves; a command that fails is said with its exit status
// and last lines while the session goes on.
func TestDevcontainerLifecycle(t *testing.T) {
	eng := needEngine(t)
	dir := copyFixture(t, "devcontainer")
	up := startUpEnv(t, dir, testimage.Jupyter, nil, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	if b, err := os.ReadFile(filepath.Join(dir, ".devcontainer", "initialized")); err != nil || string(b) != "from the host\n" {
		t.Errorf("initializeCommand on the host: %q %v", b, err)
	}
	up.nextEvent(event.Phase, func(e event.Event) bool {
		return e.Message == "postStartCommand: echo started >> /tmp/lifecycle" && e.State == event.StepDone
	})
	if got := containerFile(t, eng, ready.Container, "/tmp/lifecycle"); got != "created\nstarted\n" {
		t.Errorf("the lifecycle ran: %q", got)
	}
	if got := containerFile(t, eng, ready.Container, "/tmp/who"); got != "2 /tf/work\n" {
		t.Errorf("containerEnv and the workspace: %q", got)
	}
	up.stop()

	// A postCreateCommand that fails: said, and the session goes on.
	df := filepath.Join(dir, ".devcontainer", "devcontainer.json")
	b, _ := os.ReadFile(df)
	if err := os.WriteFile(df, []byte(strings.Replace(string(b), "pip install --no-index -r /tmp/requirements.txt", "echo no such package >&2; exit 4", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	up = startUpEnv(t, dir, testimage.Jupyter, nil, "--output", "json")
	up.nextEvent(event.Ready, nil)
	e, _ := up.nextEvent(event.Error, func(e event.Event) bool { return strings.Contains(e.Message, "postCreateCommand deps") })
	if !strings.Contains(e.Message, "exit status 4") || !strings.Contains(e.Message, "no such package") {
		t.Errorf("the failure: %q", e.Message)
	}
	// The session goes on: an edit still arrives.
	if err := os.WriteFile(filepath.Join(dir, "model.py"), []byte("x = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "model.py") })
	up.stop()
}

// A dev container that names an image (no build), its workspace mounted at
// /project: reading it writes nothing into the project (doctor, build,
// up), the code is synced to /project, which Jupyter serves.
func TestImageOnlyDevcontainer(t *testing.T) {
	needEngine(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		".devcontainer/devcontainer.json": `{"image": "` + testimage.Jupyter + `", "workspaceMount": "source=${localWorkspaceFolder},target=/project,type=bind", "workspaceFolder": "/project", "runArgs": ["--gpus", "all"], "features": {"ghcr.io/devcontainers/features/python:1": {}}, "postCreateCommand": "touch /tmp/created"}`,
		"model.py":                        "def f():\n    return 1\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cleanupProject(t, dir)
	noTfdevDir := func(after string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(dir, ".tfdev")); err == nil {
			t.Errorf("%s wrote into the project's .tfdev", after)
		}
	}
	tfdev(t, "doctor", "-C", dir)
	noTfdevDir("tfdev doctor")
	for _, args := range [][]string{{"--context-via", "tar"}, {"--context-via", "session"}, {"--builder", "legacy"}} {
		if out, errOut, code := tfdev(t, append([]string{"build", "-C", dir}, args...)...); code != 0 {
			t.Fatalf("tfdev build %v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	noTfdevDir("tfdev build")
	up := startUpEnv(t, dir, "", nil, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if names := contentNames(t, m[1]+"/api/contents/", m[2]); !strings.Contains(names, " model.py ") {
		t.Errorf("Jupyter lists %q: not the workspace", names)
	}
	up.nextEvent(event.Phase, func(e event.Event) bool {
		return strings.HasPrefix(e.Message, "postCreateCommand") && e.State == event.StepDone
	})
	up.stop()
	noTfdevDir("tfdev up")
}
