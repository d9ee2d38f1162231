// Package doctor checks a project for what makes ordinary edits cost an
// image rebuild (the seed article's lessons) and writes new projects in the
// cache-friendly shape. It reads the project's files and never talks to the
// Engine.
//
//	fs, err := doctor.Check(ctx, project, doctor.Options{})
//	for _, f := range fs { fmt.Println(f) }
package doctor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Severity of a finding; an error makes `tfdev doctor` exit 1.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one thing to fix.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"`
	Message  string   `json:"message"`
	Cost     string   `json:"cost"`
	Fix      string   `json:"fix"`
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	s := fmt.Sprintf("%s: %s: %s\n  cost: %s\n  fix:  %s", loc, f.Severity, f.Message, f.Cost, strings.ReplaceAll(f.Fix, "\n", "\n        "))
	return s
}

// Options tune the checks.
type Options struct {
	HostIP    string // the address tfdev publishes Jupyter on
	ServedDir string // the folder the container's Jupyter serves, when known
	// Bases are the base images as the Engine and their registries know
	// them (nil when no Engine answered).
	Bases []Base
	// Registry is an image the project's own files name in a registry
	// (compose image:), CacheFrom what it already reuses from one.
	Registry   string
	RegistryIn string // the file that names it
	CacheFrom  []string
	LargeFile  int64 // a context file at least this big is reported; default 50 MB
	// BuildArgs are the build arguments the build gets (--build-arg, the
	// compose file's, the host ids tfdev up passes).
	BuildArgs map[string]string
	// Command is what the container will run (the compose file's, the
	// Dockerfile's, the base image's); nil when not known.
	Command []string
}

// Check runs every check on a loaded project.
func Check(ctx context.Context, p *dockerfile.Project, o Options) ([]Finding, error) {
	if o.LargeFile == 0 {
		o.LargeFile = 50 << 20
	}
	files, err := watcher.ListContext(ctx, p.Dir, p.Rules.Ignore)
	if err != nil {
		return nil, fmt.Errorf("listing the context: %w", err)
	}
	c := &checker{p: p, o: o, files: files, df: p.Model.Name}
	c.sourceBeforeDeps()
	c.dockerignore()
	c.requirements()
	c.aptUpdateAlone()
	c.pipWithoutCache()
	c.unpinnedBase()
	c.jupyterExposure()
	c.noSource()
	c.servedVsCode()
	c.pipUnpinnedRun()
	c.aptHygiene()
	c.basesAbsent()
	c.cacheFromSuggestion()
	c.argsWithoutDefault()
	c.commandNotJupyter()
	sort.SliceStable(c.out, func(i, j int) bool { return rank(c.out[i].Severity) < rank(c.out[j].Severity) })
	return c.out, nil
}

func rank(s Severity) int {
	switch s {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// HasError reports whether any finding is an error.
func HasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

type checker struct {
	p     *dockerfile.Project
	o     Options
	files []watcher.ContextEntry
	df    string
	out   []Finding
}

func (c *checker) add(f Finding) {
	if f.File == "" {
		f.File = c.df
	}
	c.out = append(c.out, f)
}

func (c *checker) target() *dockerfile.Stage { return c.p.Model.TargetStage() }

func isInstall(run string) bool {
	for _, k := range []string{"pip install", "pip3 install", "conda install", "mamba install", "poetry install", "apt-get install", "apt install", "npm install", "uv pip install"} {
		if strings.Contains(run, k) {
			return true
		}
	}
	return false
}

// sourceBeforeDeps: a COPY of the whole context (or a source folder) with a
// RUN after it in the stage that runs. (Checks 1 and 7.)
func (c *checker) sourceBeforeDeps() {
	st := c.target()
	for i, s := range st.Steps {
		if s.Kind != "COPY" && s.Kind != "ADD" {
			continue
		}
		whole := false
		for _, r := range c.p.Rules.Steps {
			if r.Line == s.Line && r.Source == "." {
				whole = true
			}
		}
		if !whole {
			continue
		}
		for _, later := range st.Steps[i+1:] {
			if later.Kind != "RUN" {
				continue
			}
			if isInstall(later.Text) {
				dest := destOf(s.Text)
				c.add(Finding{
					Rule: "source-before-deps", Severity: Error, Line: s.Line,
					Message: fmt.Sprintf("%q copies the source before %q (line %d) installs dependencies", s.Text, later.Text, later.Line),
					Cost:    "every source edit invalidates the dependency layer: the install reruns, minutes for ML images, and nothing can be synced live",
					Fix: fmt.Sprintf("copy only the dependency files first, install, then the source:\n"+
						"COPY requirements.txt %s\n%s\nCOPY . %s", slashDir(dest), later.Text, dest),
				})
			} else {
				c.add(Finding{
					Rule: "run-after-source", Severity: Warning, Line: later.Line,
					Message: fmt.Sprintf("%q runs after %q (line %d)", later.Text, s.Text, s.Line),
					Cost:    "every source edit needs a rebuild from that COPY, because this RUN's result depends on the source",
					Fix:     "move the RUN before COPY . if it does not need the source, or copy only what it needs before it",
				})
			}
			break
		}
	}
}

func destOf(copyText string) string {
	f := strings.Fields(copyText)
	if len(f) == 0 {
		return "/app"
	}
	return f[len(f)-1]
}

func slashDir(d string) string {
	if strings.HasSuffix(d, "/") {
		return d
	}
	return d + "/"
}

// requirements: unpinned and local-path requirements in the files COPY'd
// into a rebuild layer. (Check 3.)
func (c *checker) requirements() {
	seen := map[string]bool{}
	for _, f := range c.files {
		base := path.Base(f.Rel)
		if !strings.HasPrefix(base, "requirements") || !strings.HasSuffix(base, ".txt") || seen[f.Rel] {
			continue
		}
		seen[f.Rel] = true
		c.requirementsFile(f.Rel)
	}
}

func (c *checker) requirementsFile(rel string) {
	fh, err := os.Open(filepath.Join(c.p.Dir, filepath.FromSlash(rel)))
	if err != nil {
		return
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case line == "-e ." || strings.HasPrefix(line, "-e ./") || strings.HasPrefix(line, "./") || strings.HasPrefix(line, "../") ||
			strings.HasPrefix(line, "file:") || (strings.HasPrefix(line, "-e ") && !strings.Contains(line, "://")):
			c.add(Finding{
				Rule: "requirements-local-path", Severity: Warning, File: rel, Line: n,
				Message: fmt.Sprintf("%q installs from the project's own folder", line),
				Cost:    "ties the dependency layer to source files: the install must see them, so source edits rebuild it",
				Fix:     "install the package with the source (PYTHONPATH, or pip install -e in the container after start), and keep requirements to published packages",
			})
		case strings.HasPrefix(line, "-"):
			// options (-r, --index-url...): not requirements
		case !strings.Contains(line, "==") && !strings.Contains(line, "@"):
			name := strings.FieldsFunc(line, func(r rune) bool { return strings.ContainsRune("<>=~!;[ ", r) })[0]
			c.add(Finding{
				Rule: "requirements-unpinned", Severity: Warning, File: rel, Line: n,
				Message: fmt.Sprintf("%q is not pinned to one version", line),
				Cost:    "builds on other machines or days resolve other versions: cache misses and surprises",
				Fix:     fmt.Sprintf("pin it: %s==<version> (pip freeze shows what you have)", name),
			})
		}
	}
}

// aptUpdateAlone: apt-get update in a RUN of its own. (Check 4.)
func (c *checker) aptUpdateAlone() {
	for _, s := range c.allSteps() {
		if s.Kind == "RUN" && strings.Contains(s.Text, "apt-get update") && !strings.Contains(s.Text, "install") {
			c.add(Finding{
				Rule: "apt-update-alone", Severity: Warning, Line: s.Line,
				Message: "apt-get update runs in a RUN of its own",
				Cost:    "its layer stays cached: a later change to the install list installs from stale package lists, or fails",
				Fix:     "RUN apt-get update && apt-get install -y --no-install-recommends <packages> && rm -rf /var/lib/apt/lists/*",
			})
		}
	}
}

// pipWithoutCache: pip install without a BuildKit cache mount. (Check 5.)
func (c *checker) pipWithoutCache() {
	for _, s := range c.allSteps() {
		run, ok := s.Command().(*instructions.RunCommand)
		if !ok || !(strings.Contains(s.Text, "pip install") || strings.Contains(s.Text, "pip3 install")) {
			continue
		}
		cached := false
		for _, m := range instructions.GetMounts(run) {
			if m.Type == instructions.MountTypeCache {
				cached = true
			}
		}
		if !cached {
			c.add(Finding{
				Rule: "pip-no-cache-mount", Severity: Info, Line: s.Line,
				Message: "pip install runs without a cache mount",
				Cost:    "every dependency rebuild downloads every wheel again (TensorFlow alone is hundreds of MB)",
				Fix:     "RUN --mount=type=cache,target=/root/.cache/pip " + strings.TrimPrefix(s.Text, "RUN "),
			})
		}
	}
}

// unpinnedBase: FROM an image whose tag moves. (Check 6.)
func (c *checker) unpinnedBase() {
	for _, st := range c.p.Model.Stages {
		if st.BaseStage >= 0 || st.Base == "scratch" || strings.Contains(st.Base, "@sha256:") || strings.Contains(st.Base, "$") {
			continue
		}
		ref := st.Base
		if movingTag(ref) {
			c.add(Finding{
				Rule: "base-unpinned", Severity: Warning, Line: st.Line,
				Message: fmt.Sprintf("the base image %q has a moving tag (none, a channel such as :latest or :nightly, or no version)", ref),
				Cost:    "the base moves under you: every layer's cache is lost when it does, and builds differ between machines",
				Fix:     fmt.Sprintf("pin a tag (tensorflow/tensorflow:2.9.0-gpu-jupyter) or a digest (%s@sha256:...)", strings.TrimSuffix(ref, ":latest")),
			})
		}
	}
}

// jupyterExposure: a fixed password or no token, or Jupyter published on
// every interface. (Check 8.)
func (c *checker) jupyterExposure() {
	bad := []string{"NotebookApp.password", "ServerApp.password", "NotebookApp.token=''", `NotebookApp.token=""`,
		"ServerApp.token=''", `ServerApp.token=""`, "NotebookApp.token = ''", "ServerApp.token = ''", "--no-token", "disable_check_xsrf"}
	check := func(file string, line int, text string) {
		for _, b := range bad {
			if strings.Contains(text, b) {
				c.add(Finding{
					Rule: "jupyter-auth", Severity: Warning, File: file, Line: line,
					Message: fmt.Sprintf("Jupyter is started with %q", b),
					Cost:    "a fixed password lives in the image, and no token lets anyone who reaches the port run code",
					Fix:     "let tfdev set a random token (JUPYTER_TOKEN) and remove the password/token settings",
				})
				return
			}
		}
	}
	for _, s := range c.allSteps() {
		check(c.df, s.Line, s.Text)
	}
	for _, f := range c.files {
		base := path.Base(f.Rel)
		if f.Size > 1<<20 || !(strings.Contains(base, "entrypoint") || strings.HasSuffix(base, "jupyter_notebook_config.py") || strings.HasSuffix(base, "jupyter_server_config.py")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.p.Dir, filepath.FromSlash(f.Rel)))
		if err != nil {
			continue
		}
		for i, l := range strings.Split(string(b), "\n") {
			check(f.Rel, i+1, l)
		}
	}
	if c.o.HostIP == "0.0.0.0" || c.o.HostIP == "::" {
		c.add(Finding{
			Rule: "jupyter-all-interfaces", Severity: Warning, File: "tfdev settings",
			Message: "Jupyter is published on every interface (--host-ip " + c.o.HostIP + ")",
			Cost:    "anyone on the network who learns the token can run code in the container",
			Fix:     "publish on 127.0.0.1 (the default) and use an ssh tunnel to reach it from elsewhere",
		})
	}
}

func (c *checker) allSteps() []dockerfile.Step {
	var out []dockerfile.Step
	for _, s := range c.p.Model.Stages {
		out = append(out, s.Steps...)
	}
	return out
}
