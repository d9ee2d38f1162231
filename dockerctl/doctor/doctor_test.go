package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
)

func project(t *testing.T, files map[string]string) *dockerfile.Project {
	t.Helper()
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func rules(t *testing.T, p *dockerfile.Project, o Options) []string {
	t.Helper()
	fs, err := Check(context.Background(), p, o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule)
		if f.Message == "" || f.Cost == "" || f.Fix == "" || f.File == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	sort.Strings(out)
	return out
}

const goodDockerfile = "FROM base:1.0\nWORKDIR /app\nCOPY requirements.txt .\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\nCOPY . /app\n"

func good(extra map[string]string) map[string]string {
	m := map[string]string{"Dockerfile": goodDockerfile, ".dockerignore": DockerignoreTemplate, "requirements.txt": "numpy==1.24.2\n", "train.py": "x"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		opts  Options
		want  []string
	}{
		{"clean", good(nil), Options{}, nil},
		{"source before deps", good(map[string]string{"Dockerfile": "FROM base:1.0\nWORKDIR /app\nCOPY . /app\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\n"}), Options{}, []string{"source-before-deps"}},
		{"run after source", good(map[string]string{"Dockerfile": goodDockerfile + "RUN python setup.py build_ext --inplace\n"}), Options{}, []string{"run-after-source"}},
		{"no dockerignore", map[string]string{"Dockerfile": goodDockerfile, "requirements.txt": "numpy==1.24.2\n"}, Options{}, []string{"no-dockerignore"}},
		{"leaky dockerignore", good(map[string]string{".dockerignore": "*.pyc\n",
			".git/HEAD": "x", "src/__pycache__/m.pyc": "x", "src/a.pyc": "x", "notebooks/.ipynb_checkpoints/a.ipynb": "x",
			".venv/pyvenv.cfg": "x", "logs/run.log": "x", "data/x.csv": "x", ".tfdev/kept/tf/a.ipynb": "x"}), Options{},
			[]string{"context-__pycache__", "context-data", "context-git", "context-ipynb_checkpoints", "context-logs", "context-pyc", "context-tfdev", "context-venv"}},
		{"large file", good(map[string]string{"model.ckpt": strings.Repeat("x", 2000)}), Options{LargeFile: 1000}, []string{"context-large-file"}},
		{"requirements", good(map[string]string{"requirements.txt": "numpy==1.24.2\ntensorflow\npandas>=1.5\n-e .\n./src/my_module\n--index-url https://example.invalid\ngit+https://example.invalid/x.git@v1#egg=x\n"}),
			Options{}, []string{"requirements-local-path", "requirements-local-path", "requirements-unpinned", "requirements-unpinned"}},
		{"apt update alone", good(map[string]string{"Dockerfile": "FROM base:1.0\nRUN apt-get update\nRUN apt-get install -y git\n" + goodDockerfile[len("FROM base:1.0\n"):]}), Options{}, []string{"apt-update-alone", "apt-install-hygiene"}},
		{"apt together", good(map[string]string{"Dockerfile": "FROM base:1.0\nRUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*\n" + goodDockerfile[len("FROM base:1.0\n"):]}), Options{}, nil},
		{"apt with recommends", good(map[string]string{"Dockerfile": "FROM base:1.0\nRUN apt-get update && apt-get install -y git && rm -rf /var/lib/apt/lists/*\n" + goodDockerfile[len("FROM base:1.0\n"):]}), Options{}, []string{"apt-install-hygiene"}},
		{"nightly base", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:nightly", 1)}), Options{}, []string{"base-unpinned"}},
		{"channel tag", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:latest-gpu-jupyter", 1)}), Options{}, []string{"base-unpinned"}},
		{"versionless tag", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:gpu-jupyter", 1)}), Options{}, []string{"base-unpinned"}},
		{"release name", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "debian:bookworm-slim", 1)}), Options{}, nil},
		{"versioned tag", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:2.9.0-gpu-jupyter", 1)}), Options{}, nil},
		{"pip unpinned on the RUN line", good(map[string]string{"Dockerfile": goodDockerfile[:len(goodDockerfile)-len("COPY . /app\n")] +
			"RUN --mount=type=cache,target=/root/.cache/pip pip install tensorflow pandas==1.5.0 ./wheels/x.whl -r requirements.txt\nCOPY . /app\n"}), Options{}, []string{"pip-unpinned-run"}},
		{"pip pinned on the RUN line", good(map[string]string{"Dockerfile": goodDockerfile[:len(goodDockerfile)-len("COPY . /app\n")] +
			"RUN --mount=type=cache,target=/root/.cache/pip python -m pip install --no-cache-dir pandas==1.5.0 -e .\nCOPY . /app\n"}), Options{}, nil},
		{"served elsewhere", good(nil), Options{ServedDir: "/tf"}, []string{"served-vs-code"}},
		{"served there", good(nil), Options{ServedDir: "/app"}, nil},
		{"pip without cache", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "--mount=type=cache,target=/root/.cache/pip ", "", 1)}), Options{}, []string{"pip-no-cache-mount"}},
		{"latest base", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:latest", 1)}), Options{}, []string{"base-unpinned"}},
		{"untagged base", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "localhost:5000/tf", 1)}), Options{}, []string{"base-unpinned"}},
		{"digest base", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tf@sha256:0123", 1)}), Options{}, nil},
		{"jupyter password", good(map[string]string{"entrypoint.sh": "#!/bin/sh\necho \"c.NotebookApp.password = 'x'\" >> cfg\n"}), Options{}, []string{"jupyter-auth"}},
		{"jupyter no token", good(map[string]string{"Dockerfile": goodDockerfile + "CMD [\"jupyter\", \"notebook\", \"--NotebookApp.token=''\"]\n"}), Options{}, []string{"jupyter-auth"}},
		{"all interfaces", good(nil), Options{HostIP: "0.0.0.0"}, []string{"jupyter-all-interfaces"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := rules(t, project(t, c.files), c.opts)
			want := append([]string(nil), c.want...)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// The findings learnt from public projects say where, and what to do.
func TestProjectsAsTheyAreFindings(t *testing.T) {
	noSource := "FROM base:1.0\nCOPY requirements.txt /tmp/\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r /tmp/requirements.txt\n"
	for _, c := range []struct {
		name      string
		files     map[string]string
		served    string
		opts      Options
		rule      string
		line      int
		says, fix string
	}{
		{"no source, Jupyter's folder known", good(map[string]string{"Dockerfile": noSource}), "/tf", Options{}, "no-source", 1,
			"no step copies your source: tfdev syncs it into /tf", "COPY . /tf"},
		{"no source, nowhere known", good(map[string]string{"Dockerfile": noSource}), "", Options{}, "no-source", 1,
			"where Jupyter serves is not known", "COPY . /tf"},
		{"served vs code", good(nil), "", Options{ServedDir: "/tf"}, "served-vs-code", 5,
			"Jupyter serves /tf but your code is in /app", "--notebook-dir=/app"},
		{"moving tag", good(map[string]string{"Dockerfile": strings.Replace(goodDockerfile, "base:1.0", "tensorflow/tensorflow:nightly", 1)}), "", Options{}, "base-unpinned", 1,
			"moving tag", "pin a tag"},
		{"pip on the RUN line", good(map[string]string{"Dockerfile": "FROM base:1.0\nRUN pip install --no-cache-dir tensorflow keras==2.9.0 $EXTRA\n"}), "", Options{}, "pip-unpinned-run", 2,
			"tensorflow installs a package with no version", "tensorflow==X.Y.Z"},
		{"apt", good(map[string]string{"Dockerfile": "FROM base:1.0\nRUN apt-get update && apt-get install -y git\n"}), "", Options{}, "apt-install-hygiene", 2,
			"without --no-install-recommends and without removing /var/lib/apt/lists", "rm -rf /var/lib/apt/lists/*"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, body := range c.files {
				os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644)
			}
			p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{ServedDir: func(*dockerfile.Model) string { return c.served }})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Check(context.Background(), p, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Rule == c.rule {
					if f.Line != c.line || f.File != "Dockerfile" || !strings.Contains(f.Message, c.says) || !strings.Contains(f.Fix, c.fix) {
						t.Errorf("%+v", f)
					}
					return
				}
			}
			t.Errorf("no %s finding in %+v", c.rule, fs)
		})
	}
}

func TestRootOnlyPycPitfall(t *testing.T) {
	p := project(t, good(map[string]string{".dockerignore": "*.pyc\n", "src/a.pyc": "x"}))
	fs, _ := Check(context.Background(), p, Options{})
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "only at the context root") || !strings.Contains(fs[0].Fix, "**/*.pyc") {
		t.Errorf("%+v", fs)
	}
}

func TestSeedArticleDockerfiles(t *testing.T) {
	for dir, want := range map[string][]string{
		"seed-bad":  {"pip-no-cache-mount", "source-before-deps"},
		"seed-good": {"pip-no-cache-mount"},
		"demo":      nil,
	} {
		p, err := dockerfile.Load(filepath.Join("..", "..", "testdata", dir), "Dockerfile", dockerfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Check(context.Background(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.Rule)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", dir, got, want)
		}
		if dir == "seed-bad" && !HasError(fs) {
			t.Error("seed-bad has no error-level finding")
		}
		if dir == "seed-bad" {
			for _, f := range fs {
				if f.Rule == "source-before-deps" && !strings.Contains(f.Fix, "COPY requirements.txt /app/\nRUN pip install -r requirements.txt\nCOPY . /app") {
					t.Errorf("the fix does not show the reordered steps: %q", f.Fix)
				}
			}
		}
	}
}

func TestInitWritesACleanProject(t *testing.T) {
	for _, fw := range []string{"tensorflow", "pytorch"} {
		dir := t.TempDir()
		ws, err := Init(InitOptions{Dir: dir, Framework: fw})
		if err != nil || len(ws) != 4 {
			t.Fatalf("%s: %v %v", fw, ws, err)
		}
		os.WriteFile(filepath.Join(dir, "train.py"), []byte("print(1)\n"), 0o644)
		p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := rules(t, p, Options{}); len(got) != 0 {
			t.Errorf("%s: the generated project has findings %q", fw, got)
		}
	}
}

func TestInitNeverOverwritesWithoutForce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM mine\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("mine==1\n"), 0o644)
	if _, err := Init(InitOptions{Dir: dir}); err == nil || !strings.Contains(err.Error(), "Dockerfile") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".dockerignore")); err == nil {
		t.Error("wrote files despite refusing")
	}
	ws, err := Init(InitOptions{Dir: dir, Force: true, Base: "tfdev-test/jupyter"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile.bak")); string(b) != "FROM mine\n" {
		t.Errorf("backup %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "requirements.txt")); string(b) != "mine==1\n" {
		t.Errorf("the user's requirements.txt was replaced: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); !strings.Contains(string(b), "ARG BASE=tfdev-test/jupyter") {
		t.Errorf("Dockerfile %q", b)
	}
	if len(ws) != 3 || ws[0].Backup == "" {
		t.Errorf("written %+v", ws)
	}
}

func TestTasksTemplateIsTheDemos(t *testing.T) {
	b, err := os.ReadFile("../../testdata/demo/.vscode/tasks.json")
	if err != nil || string(b) != TasksTemplate {
		t.Error("dockerctl/doctor/tasks.json and testdata/demo/.vscode/tasks.json differ")
	}
}

// An ARG with no default that a RUN reads is flagged at its line, unless
// the build is given it; the uid/gid names say what tfdev up does.
func TestArgWithoutDefault(t *testing.T) {
	df := "FROM tfdev-test/jupyter:bookworm\nARG USER_ID\nARG GROUP_ID\nARG LABEL\nRUN addgroup --gid $GROUP_ID user\n" +
		"RUN adduser --disabled-password --gecos \"\" --uid $USER_ID --gid $GROUP_ID user\nRUN echo hi\n"
	p := project(t, map[string]string{"Dockerfile": df, ".dockerignore": ".git\n"})
	for _, c := range []struct {
		given map[string]string
		want  string
	}{
		{nil, "Dockerfile:2 USER_ID 6; Dockerfile:3 GROUP_ID 5"},
		{map[string]string{"GROUP_ID": "1000"}, "Dockerfile:2 USER_ID 6"},
	} {
		fs, err := Check(context.Background(), p, Options{BuildArgs: c.given})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			if f.Rule != "arg-without-default" {
				continue
			}
			got = append(got, fmt.Sprintf("%s:%d %s %s", f.File, f.Line, strings.Fields(f.Message)[1], strings.Fields(f.Message)[10]))
			if !strings.Contains(f.Fix, "tfdev up passes your user's") {
				t.Errorf("fix %q", f.Fix)
			}
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("given %v: %v, want %s", c.given, got, c.want)
		}
	}
}

// A command that is not Jupyter is said, at the Dockerfile's CMD; one that
// is, or none known, says nothing.
func TestCommandNotJupyter(t *testing.T) {
	p := project(t, map[string]string{"Dockerfile": "FROM b\nWORKDIR /work\nCMD [\"bash\"]\n", ".dockerignore": ".git\n"})
	for _, c := range []struct {
		command []string
		want    string
	}{
		{[]string{"bash"}, "Dockerfile:3 the container's command (bash) does not start Jupyter"},
		{[]string{"sh", "-c", "jupyter lab --ip 0.0.0.0"}, ""},
		{nil, ""},
	} {
		fs, err := Check(context.Background(), p, Options{Command: c.command})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, f := range fs {
			if f.Rule == "command-not-jupyter" {
				got = fmt.Sprintf("%s:%d %s", f.File, f.Line, f.Message)
			}
		}
		if !strings.HasPrefix(got, c.want) || (c.want == "") != (got == "") {
			t.Errorf("%v: %q", c.command, got)
		}
	}
}
