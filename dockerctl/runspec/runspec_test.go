package runspec

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const composeFull = `services:
  notebook:
    build:
      context: .
      dockerfile: docker/Dockerfile.dev
      target: dev
      args:
        BASE: ${TFDEV_BASE:-tensorflow/tensorflow:2.9.0-gpu-jupyter}
        FROM_DOTENV: ${DOTENV_VALUE}
    command: jupyter lab --ServerApp.root_dir=/tf/home
    working_dir: /tf/home
    user: "1000:1000"
    environment:
      - PROJECT=demo
      - EMPTY
    env_file: vars.env
    ports:
      - "8890:8888"
      - "6006:6006"
    volumes:
      - .:/tf/home
      - ./data:/data
      - /srv/datasets:/datasets:ro
      - cache:/root/.cache
      - type: tmpfs
        target: /scratch
    shm_size: 2gb
    ipc: host
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: 2
              capabilities: [gpu]
    depends_on: [db]
    healthcheck:
      test: ["CMD", "true"]
  db:
    image: postgres:16
  debug:
    image: busybox
    profiles: [debug]
volumes:
  cache:
`

func TestComposeReadsTheService(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My Project")
	write(t, dir, map[string]string{"compose.yaml": composeFull, ".env": "DOTENV_VALUE=from-dotenv\n", "vars.env": "FROM_ENV_FILE=1\n"})
	s, err := Find(dir, "", []string{"TFDEV_BASE=tfdev-test/jupyter:bookworm"})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	checks := []struct {
		what      string
		got, want any
	}{
		{"source", s.Source, "compose.yaml"},
		{"service (the only one with a build)", s.Service, "notebook"},
		{"context", s.Context, abs},
		{"dockerfile", s.Dockerfile, "docker/Dockerfile.dev"},
		{"target", s.Target, "dev"},
		{"arg from the environment", s.Args["BASE"], "tfdev-test/jupyter:bookworm"},
		{"arg from .env", s.Args["FROM_DOTENV"], "from-dotenv"},
		{"command", strings.Join(s.Command, " "), "jupyter lab --ServerApp.root_dir=/tf/home"},
		{"working_dir", s.WorkingDir, "/tf/home"},
		{"user", s.User, "1000:1000"},
		{"env", strings.Join(s.Env, " "), "FROM_ENV_FILE=1 PROJECT=demo"},
		{"jupyter port", s.JupyterPort, 8888},
		{"host port", s.HostPort, 8890},
		{"gpus", s.GPUs, "2"},
		{"shm", s.ShmSize, int64(2 << 30)},
		{"ipc", s.IPC, "host"},
		{"binds", strings.Join(s.Binds, " "), "/srv/datasets:/datasets:ro myproject_cache:/root/.cache"},
		{"tmpfs", len(s.Tmpfs), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	wantMounts := []Mount{{Source: ".", Target: "/tf/home", Line: 21, Text: "volume .:/tf/home"}, {Source: "data", Target: "/data", Line: 22, Text: "volume ./data:/data"}}
	if !slices.Equal(s.Mounts, wantMounts) {
		t.Errorf("mounts %+v, want %+v", s.Mounts, wantMounts)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %q", s.Warnings)
	}
	wantUnsupported := []string{"other services (db): tfdev runs notebook only", "depends_on", "healthcheck"}
	if !slices.Equal(s.Unsupported, wantUnsupported) {
		t.Errorf("unsupported %q, want %q", s.Unsupported, wantUnsupported)
	}
}

func TestComposePicksAndRefuses(t *testing.T) {
	for _, c := range []struct {
		name, compose, service string
		want, err              string
	}{
		{"named", "services:\n  a:\n    build: .\n  b:\n    build: .\n", "b", "b", ""},
		{"publishes 8888", "services:\n  a:\n    build: .\n  b:\n    build: .\n    ports: [\"8888:8888\"]\n", "", "b", ""},
		{"only one", "services:\n  a:\n    image: x:1\n", "", "a", ""},
		{"unclear", "services:\n  a:\n    build: .\n  b:\n    build: .\n", "", "", "none is clearly the Jupyter one"},
		{"no such", "services:\n  a:\n    build: .\n", "zz", "", `no service "zz" (it has a)`},
		{"context elsewhere", "services:\n  a:\n    build: ./docker\n", "", "", "run tfdev up -C"},
		{"extends", "services:\n  base:\n    image: x:1\n    shm_size: 1g\n  a:\n    extends: base\n    build: .\n", "", "a", ""},
		{"gpus", "services:\n  a:\n    build: .\n    gpus: all\n", "", "a", ""},
		{"unset variable", "services:\n  a:\n    build: .\n    image: x:${NOT_SET_ANYWHERE}\n", "", "a", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"docker-compose.yml": c.compose, "docker/Dockerfile": "FROM x\n"})
			s, err := Find(dir, c.service, []string{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || s.Service != c.want {
				t.Fatalf("service %v (%v), want %s", s, err, c.want)
			}
			if c.name == "extends" && s.ShmSize != 1<<30 {
				t.Errorf("extends: shm %d", s.ShmSize)
			}
			if c.name == "unset variable" && (len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "NOT_SET_ANYWHERE")) {
				t.Errorf("the loader's warning: %q", s.Warnings)
			}
			if c.name == "gpus" && s.GPUs != "all" {
				t.Errorf("gpus: all read as %q", s.GPUs)
			}
		})
	}
}

func TestDevcontainer(t *testing.T) {
	for _, c := range []struct {
		name  string
		json  string
		check func(t *testing.T, s *Spec)
		err   string
	}{
		{"build with runArgs", `// comment
{
  "build": {"dockerfile": "../Dockerfile", "context": "..", "args": {"BASE": "b:1"}, "target": "dev",},
  "runArgs": ["--gpus", "all", "--shm-size", "2g", "-e", "A=1", "--ipc=host", "--cap-add=SYS_PTRACE"],
  "containerEnv": {"TF_CPP_MIN_LOG_LEVEL": "2"},
  "forwardPorts": [6006, 8888],
  "workspaceFolder": "/tf/work",
  "postCreateCommand": "pip install -e .",
}`, func(t *testing.T, s *Spec) {
			if s.Dockerfile != "Dockerfile" || s.Args["BASE"] != "b:1" || s.Target != "dev" || s.GPUs != "all" || s.ShmSize != 2<<30 || s.IPC != "host" ||
				s.Workspace != "/tf/work" || s.JupyterPort != 8888 || strings.Join(s.Env, " ") != "TF_CPP_MIN_LOG_LEVEL=2 A=1" {
				t.Errorf("%+v", s)
			}
			if !slices.Equal(s.Unsupported, []string{"runArgs --cap-add=SYS_PTRACE"}) {
				t.Errorf("unsupported %q", s.Unsupported)
			}
			if len(s.Lifecycle.PostCreate) != 1 || s.Lifecycle.PostCreate[0].Shell != "pip install -e ." {
				t.Errorf("postCreateCommand %+v", s.Lifecycle.PostCreate)
			}
		}, ""},
		{"gpu from hostRequirements", `{"build": {"dockerfile": "../Dockerfile", "context": ".."}, "hostRequirements": {"gpu": true}}`,
			func(t *testing.T, s *Spec) {
				if s.GPUs != "all" {
					t.Errorf("gpus %q", s.GPUs)
				}
			}, ""},
		{"image only", `{"image": "tfdev-test/jupyter:bookworm", "forwardPorts": ["8888"]}`, func(t *testing.T, s *Spec) {
			if s.Image != "tfdev-test/jupyter:bookworm" || s.Context != "" || s.JupyterPort != 8888 {
				t.Errorf("%+v", s)
			}
		}, ""},
		{"default context", `{"build": {"dockerfile": "Dockerfile"}}`, nil, "build.context"},
		{"nothing to run", `{"name": "x"}`, nil, "neither build.dockerfile nor image"},
		{"bad json", `{"image": }`, nil, "devcontainer.json"},
		{"compose", `{"dockerComposeFile": "../compose.yaml", "service": "nb", "workspaceFolder": "/w"}`, func(t *testing.T, s *Spec) {
			if s.Service != "nb" || s.Workspace != "/w" || s.Context == "" {
				t.Errorf("%+v", s)
			}
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{".devcontainer/devcontainer.json": c.json, ".devcontainer/Dockerfile": "FROM x\n", "Dockerfile": "FROM x\n"})
			if c.name == "compose" {
				write(t, dir, map[string]string{"compose.yaml": "services:\n  nb:\n    build: .\n  other:\n    build: .\n"})
				os.Rename(filepath.Join(dir, "compose.yaml"), filepath.Join(dir, "compose-dev.yaml"))
				c.json = strings.Replace(c.json, "compose.yaml", "compose-dev.yaml", 1)
				write(t, dir, map[string]string{".devcontainer/devcontainer.json": c.json})
			}
			s, err := Find(dir, "", []string{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
}

// A compose file is read before devcontainer.json; a project with neither
// has no spec.
func TestFindPrecedence(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{".devcontainer/devcontainer.json": `{"image": "x:1"}`})
	if s, err := Find(dir, "", nil); err != nil || s.Source != ".devcontainer/devcontainer.json" {
		t.Errorf("devcontainer alone: %+v %v", s, err)
	}
	write(t, dir, map[string]string{"compose.yaml": "services:\n  a:\n    image: y:1\n"})
	if s, err := Find(dir, "", nil); err != nil || s.Source != "compose.yaml" {
		t.Errorf("compose and devcontainer: %+v %v", s, err)
	}
	if s, err := Find(t.TempDir(), "", nil); err != nil || s != nil {
		t.Errorf("neither: %+v %v", s, err)
	}
}

// Compose files are named as docker compose names them: --compose-file
// (repeatable, merged in order), else COMPOSE_FILE from the environment or
// the project's .env (split at COMPOSE_PATH_SEPARATOR), else compose.yaml
// and its kin; variables come from the project's .env or the env files
// given; a profile (--profile, COMPOSE_PROFILES) enables its services.
func TestComposeFilesByName(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"compose.jupyter.yaml": "services:\n  lab:\n    build: .\n    command: jupyter lab --ServerApp.root_dir=/data\n    ports: [\"8888:8888\"]\n    volumes:\n      - ${TRAIN_DIR}:/data/images\n      - .:/data\n",
		"compose.gpu.yaml":     "services:\n  lab:\n    shm_size: 1gb\n",
		"compose.extra.yaml":   "services:\n  board:\n    image: tb:1\n    profiles: [extra]\n    ports: [\"8888:8888\"]\n",
		".env":                 "TRAIN_DIR=./images\n",
		"other.env":            "TRAIN_DIR=./elsewhere\n",
		"Dockerfile":           "FROM x\n",
	})
	s, err := FindWith(dir, FindOptions{ComposeFiles: []string{"compose.jupyter.yaml", "compose.gpu.yaml"}, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != "compose.jupyter.yaml, compose.gpu.yaml" || s.Service != "lab" || s.ShmSize != 1<<30 {
		t.Errorf("merged: %+v", s)
	}
	if len(s.Mounts) != 2 || s.Mounts[0].Source != "images" || s.Mounts[0].Target != "/data/images" {
		t.Errorf("the .env's TRAIN_DIR: %+v", s.Mounts)
	}
	s, err = FindWith(dir, FindOptions{ComposeFiles: []string{"compose.jupyter.yaml"}, EnvFiles: []string{filepath.Join(dir, "other.env")}, Env: []string{}})
	if err != nil || len(s.Mounts) == 0 || s.Mounts[0].Source != "elsewhere" {
		t.Errorf("--env-file: %+v %v", s, err)
	}
	for _, env := range [][]string{
		{"COMPOSE_FILE=compose.jupyter.yaml:compose.gpu.yaml"},
		{"COMPOSE_FILE=compose.jupyter.yaml;compose.gpu.yaml", "COMPOSE_PATH_SEPARATOR=;"},
	} {
		if s, err := FindWith(dir, FindOptions{Env: env}); err != nil || s.Source != "compose.jupyter.yaml, compose.gpu.yaml" {
			t.Errorf("%v: %+v %v", env, s, err)
		}
	}
	write(t, dir, map[string]string{".env": "TRAIN_DIR=./images\nCOMPOSE_FILE=compose.jupyter.yaml\n"})
	if s, err := FindWith(dir, FindOptions{Env: []string{}}); err != nil || s.Source != "compose.jupyter.yaml" {
		t.Errorf("COMPOSE_FILE from .env: %+v %v", s, err)
	}
	// A service behind a profile is there only with the profile.
	files := []string{"compose.jupyter.yaml", "compose.extra.yaml"}
	if s, err := FindWith(dir, FindOptions{ComposeFiles: files, Service: "board", Env: []string{}}); err == nil {
		t.Errorf("a service of a profile not enabled: %+v", s)
	}
	for _, o := range []FindOptions{
		{ComposeFiles: files, Service: "board", Profiles: []string{"extra"}, Env: []string{}},
		{ComposeFiles: files, Service: "board", Env: []string{"COMPOSE_PROFILES=extra"}},
	} {
		if s, err := FindWith(dir, o); err != nil || s.Service != "board" {
			t.Errorf("%+v: %+v %v", o, s, err)
		}
	}
}

// A dev container's lifecycle commands in their three forms, its remote
// user and environment, and its workspace as the folder Jupyter serves.
func TestDevcontainerLifecycle(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{".devcontainer/devcontainer.json": `{
  "image": "tfdev-test/jupyter:bookworm",
  "workspaceFolder": "/project",
  "containerUser": "root",
  "remoteUser": "jovyan",
  "containerEnv": {"A": "1"},
  "remoteEnv": {"B": "2"},
  "features": {"ghcr.io/devcontainers/features/python:1": {}},
  "initializeCommand": "echo host > .initialized",
  "onCreateCommand": ["touch", "/tmp/created"],
  "postCreateCommand": {"deps": "pip install -r requirements.txt", "check": ["python3", "-c", "print(1)"]},
  "postStartCommand": "date > /tmp/started",
}`})
	s, err := Find(dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	l := s.Lifecycle
	if len(l.Initialize) != 1 || l.Initialize[0].Shell != "echo host > .initialized" {
		t.Errorf("initialize %+v", l.Initialize)
	}
	if len(l.OnCreate) != 1 || strings.Join(l.OnCreate[0].Args, " ") != "touch /tmp/created" {
		t.Errorf("onCreate %+v", l.OnCreate)
	}
	if len(l.PostCreate) != 2 || l.PostCreate[0].Name != "check" || l.PostCreate[1].Shell != "pip install -r requirements.txt" {
		t.Errorf("postCreate %+v", l.PostCreate)
	}
	if len(l.PostStart) != 1 || l.User != "jovyan" || strings.Join(l.Env, " ") != "A=1 B=2" || l.Dir != "/project" || s.ServeDir != "/project" {
		t.Errorf("lifecycle %+v, serve %q", l, s.ServeDir)
	}
	if !slices.Contains(s.Unsupported, "features") {
		t.Errorf("features not named as not applied: %v", s.Unsupported)
	}
	write(t, dir, map[string]string{".devcontainer/devcontainer.json": `{"image": "x:1", "postCreateCommand": 3}`})
	if _, err := Find(dir, "", nil); err == nil || !strings.Contains(err.Error(), "postCreateCommand") {
		t.Errorf("a bad form: %v", err)
	}
}
