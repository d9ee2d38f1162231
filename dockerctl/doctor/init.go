package doctor

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DockerignoreTemplate is the seed article's list in Docker's semantics: a
// bare *.pyc would match only at the context root.
const DockerignoreTemplate = `# What the build never needs. Docker's semantics, not git's:
# patterns are anchored at the context root, so **/ reaches into folders.
.git
.tfdev
**/__pycache__
**/*.pyc
**/.ipynb_checkpoints
.vscode
.idea
.venv
venv
logs
tmp
data
.DS_Store
`

// Frameworks tfdev init knows, with their default (pinned) base images.
var Frameworks = map[string]string{
	"tensorflow": "tensorflow/tensorflow:2.9.0-gpu-jupyter",
	"pytorch":    "pytorch/pytorch:2.1.2-cuda11.8-cudnn8-runtime",
}

func dockerfileTemplate(framework, base string) string {
	jupyter := ""
	if framework == "pytorch" {
		// PyTorch images ship no Jupyter; it comes with the dependencies.
		jupyter = "\nEXPOSE 8888\nCMD [\"jupyter\", \"notebook\", \"--notebook-dir=/tf\", \"--ip=0.0.0.0\", \"--no-browser\", \"--allow-root\"]\n"
	}
	return fmt.Sprintf(`# Three layers, least changing first (the seed article's shape):
# base, dependencies, application. tfdev syncs edits to the application
# layer into the running container; only a dependency change rebuilds.
ARG BASE=%s
FROM ${BASE}
WORKDIR /tf

# Dependencies: rebuilt only when requirements.txt changes. The cache mount
# keeps downloaded wheels across those rebuilds (BuildKit).
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip pip install -r /tmp/requirements.txt

# Application: source and notebooks, last.
COPY . /tf
%s`, base, jupyter)
}

func requirementsTemplate(framework string) string {
	if framework == "pytorch" {
		return "# Pin every requirement: the dependency layer is cached by this file's content.\nnotebook==6.5.4\n"
	}
	return "# Pin every requirement: the dependency layer is cached by this file's content.\n# TensorFlow comes with the base image.\nnumpy==1.24.2\n"
}

// TasksTemplate is the VS Code background task for tfdev up.
//
//go:embed tasks.json
var TasksTemplate string

// InitOptions say what `tfdev init` writes.
type InitOptions struct {
	Dir       string
	Framework string // tensorflow (default) or pytorch
	Base      string // default: the framework's image
	Force     bool   // overwrite, keeping a .bak
}

// Written is one file tfdev init wrote.
type Written struct {
	Path   string
	Backup string // where the old file went, with --force
}

// ErrExists is a file init would not overwrite without --force.
var ErrExists = errors.New("exists")

// Init writes a Dockerfile, .dockerignore, requirements.txt (when none) and
// .vscode/tasks.json. It never overwrites a file without Force; with Force
// the old file is kept as <name>.bak. Nothing is written when any file
// exists and Force is off.
func Init(o InitOptions) ([]Written, error) {
	if o.Framework == "" {
		o.Framework = "tensorflow"
	}
	def, ok := Frameworks[o.Framework]
	if !ok {
		return nil, fmt.Errorf("--framework must be tensorflow or pytorch, not %q", o.Framework)
	}
	if o.Base == "" {
		o.Base = def
	}
	files := []struct {
		rel, body string
		keep      bool // never replaced, even with Force: the user's own
	}{
		{"Dockerfile", dockerfileTemplate(o.Framework, o.Base), false},
		{".dockerignore", DockerignoreTemplate, false},
		{"requirements.txt", requirementsTemplate(o.Framework), true},
		{filepath.Join(".vscode", "tasks.json"), TasksTemplate, false},
	}
	if !o.Force {
		var taken []string
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(o.Dir, f.rel)); err == nil && !f.keep {
				taken = append(taken, f.rel)
			}
		}
		if len(taken) > 0 {
			return nil, fmt.Errorf("%s %w (use --force to replace them, keeping .bak copies)", strings.Join(taken, ", "), ErrExists)
		}
	}
	var out []Written
	for _, f := range files {
		p := filepath.Join(o.Dir, f.rel)
		w := Written{Path: p}
		if _, err := os.Stat(p); err == nil {
			if f.keep {
				continue
			}
			w.Backup = p + ".bak"
			if err := os.Rename(p, w.Backup); err != nil {
				return out, err
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return out, err
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			return out, err
		}
		out = append(out, w)
	}
	return out, nil
}
