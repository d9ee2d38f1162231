// Package runspec reads how a project already says it runs: its compose
// file (through compose-go's loader: interpolation, .env, profiles and
// extends) or its .devcontainer/devcontainer.json (JSON with comments).
// What it reads is a Spec: how to build the image and run the container,
// which project folders are bind-mounted (tfdev syncs them instead), and
// what tfdev does not apply, named.
package runspec

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Spec is what a compose service or a dev container says.
type Spec struct {
	// Source is the file it comes from, relative to the project
	// ("compose.yaml", ".devcontainer/devcontainer.json").
	Source  string
	Service string // the compose service ("" for a dev container)

	Context    string // the build context, absolute; "" when there is no build
	Dockerfile string // relative to Context
	Args       map[string]string
	Target     string
	Image      string // the image to run when there is no build
	CacheFrom  []string

	Entrypoint []string // nil: the image's
	Command    []string // nil: the image's
	Env        []string // K=V
	WorkingDir string
	User       string
	// JupyterPort is the container port Jupyter serves (0: tfdev's default);
	// HostPort the one the file publishes it on (0: none).
	JupyterPort int
	HostPort    int
	GPUs        string // "all", a count, device IDs "0,1"; "" none asked
	ShmSize     int64
	IPC         string
	// Mounts are bind mounts of the project or a folder of it: tfdev syncs
	// them instead of mounting, on a local Engine as on a remote one.
	Mounts []Mount
	// Binds are the other volumes, as the Engine takes them ("name:/path",
	// "/abs:/path:ro"); Tmpfs the tmpfs mounts.
	Binds []string
	Tmpfs map[string]string
	// Workspace is where the project goes in the container when nothing
	// else puts it there (a dev container's workspaceFolder).
	Workspace string
	// ServeDir is the folder Jupyter must serve (a dev container's
	// workspaceFolder), "" when the command decides.
	ServeDir string
	// Lifecycle are a dev container's lifecycle commands.
	Lifecycle model.Lifecycle
	// Unsupported names, once, what tfdev does not apply; Warnings are what
	// the compose loader said (an unset variable).
	Unsupported []string
	Warnings    []string
}

// Mount is a bind mount of a project folder.
type Mount struct {
	Source string // project-relative, "." for the project
	Target string // container path
	Line   int    // in Spec.Source; 0 when unknown
	Text   string // as written, "volume .:/tf/home"
}

// ComposeFiles are the names compose looks for, in its order.
var ComposeFiles = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

// DevcontainerFiles are where a dev container is described.
var DevcontainerFiles = []string{".devcontainer/devcontainer.json", ".devcontainer.json"}

// Find reads the project's compose file (service names the service; ""
// takes the only one with a build, or the one publishing 8888), else its
// devcontainer.json. It returns nil when the project has neither.
func Find(dir, service string, env []string) (*Spec, error) {
	return FindWith(dir, FindOptions{Service: service, Env: env})
}

// FindOptions choose the compose files as docker compose does.
type FindOptions struct {
	Service string
	Env     []string // the environment (nil: the process's)
	// ComposeFiles are the files to merge, in order (--compose-file);
	// none: COMPOSE_FILE (from the environment or the project's .env),
	// else the first of ComposeFiles' names that exists.
	ComposeFiles []string
	EnvFiles     []string // --env-file: instead of the project's .env
	Profiles     []string // --profile; none: COMPOSE_PROFILES
}

// FindWith is Find with compose's own ways of naming the files. Relative
// file names are the project folder's.
func FindWith(dir string, o FindOptions) (*Spec, error) {
	for i, f := range o.EnvFiles {
		if !filepath.IsAbs(f) {
			o.EnvFiles = slices.Clone(o.EnvFiles)
			o.EnvFiles[i] = filepath.Join(dir, f)
		}
	}
	files := o.ComposeFiles
	if len(files) == 0 {
		files = composeFileEnv(dir, o.Env, o.EnvFiles)
	}
	if len(files) == 0 {
		for _, name := range ComposeFiles {
			if isFile(filepath.Join(dir, name)) {
				files = []string{name}
				break
			}
		}
	}
	if len(files) > 0 {
		return ComposeWith(dir, files, o)
	}
	service := o.Service
	env := o.Env
	if service != "" {
		return nil, fmt.Errorf("service %q asked for, but %s has no compose file (%s)", service, dir, strings.Join(ComposeFiles, ", "))
	}
	for _, name := range DevcontainerFiles {
		if isFile(filepath.Join(dir, name)) {
			return Devcontainer(dir, name, env)
		}
	}
	return nil, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// contextDir checks that a build context is the project: tfdev watches
// and sends the project folder.
func contextDir(dir, ctx, where string) (string, error) {
	abs, err := filepath.Abs(ctx)
	if err != nil {
		return "", err
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if abs != root {
		return "", fmt.Errorf("%s: the build context is %s, but tfdev builds from the project folder %s: run tfdev up -C %s, or make the context the project folder", where, abs, root, abs)
	}
	return abs, nil
}

// projectMount is a bind mount's source as a project folder, when it is
// the project or inside it.
func projectMount(dir, source string) (string, bool) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	if !filepath.IsAbs(source) {
		source = filepath.Join(root, source)
	}
	rel, err := filepath.Rel(root, filepath.Clean(source))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// lineOf finds the first line of file (project-relative) holding all the
// words, 0 when none does.
func lineOf(dir, file string, words ...string) int {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
next:
	for i, l := range strings.Split(string(b), "\n") {
		for _, w := range words {
			if !strings.Contains(l, w) {
				continue next
			}
		}
		return i + 1
	}
	return 0
}

// composeFileEnv is COMPOSE_FILE, from the environment or else the
// project's env file, split at COMPOSE_PATH_SEPARATOR (the system's list
// separator by default), as docker compose reads it.
func composeFileEnv(dir string, env, envFiles []string) []string {
	lookup := func(k string) string {
		if env == nil {
			return os.Getenv(k)
		}
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	value, sep := lookup("COMPOSE_FILE"), lookup("COMPOSE_PATH_SEPARATOR")
	if value == "" {
		if len(envFiles) == 0 {
			envFiles = []string{filepath.Join(dir, ".env")}
		}
		if vars, err := dotenv.GetEnvFromFile(map[string]string{}, envFiles); err == nil {
			value = vars["COMPOSE_FILE"]
			if sep == "" {
				sep = vars["COMPOSE_PATH_SEPARATOR"]
			}
		}
	}
	if value == "" {
		return nil
	}
	if sep == "" {
		sep = string(os.PathListSeparator)
	}
	var out []string
	for _, f := range strings.Split(value, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
