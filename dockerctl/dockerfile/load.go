package dockerfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfdev-dev/tfdev/watcher"
)

// Project is a build context with its Dockerfile, read from disk.
type Project struct {
	Dir            string // absolute context directory
	DockerfilePath string // absolute path of the Dockerfile
	Model          *Model
	Rules          watcher.Rules
	// Workspace is the container folder the project syncs into because the
	// Dockerfile copies no source ("" when it does, or a mount covers it).
	Workspace string
}

// ErrNoDockerfile is returned when the Dockerfile does not exist.
var ErrNoDockerfile = errors.New("no Dockerfile")

// Load reads the Dockerfile (relative to dir unless absolute), the ignore
// file that applies to it and .tfdevignore, and derives the rules.
func Load(dir, dockerfile string, opts Options) (*Project, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	dfPath := dockerfile
	if !filepath.IsAbs(dfPath) {
		dfPath = filepath.Join(dir, dockerfile)
	}
	data, err := os.ReadFile(dfPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s: write one there or point at another with -f", ErrNoDockerfile, dfPath)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	if opts.Name == "" {
		opts.Name = displayName(dir, dfPath)
	}
	m, err := Parse(strings.NewReader(string(data)), opts)
	if err != nil {
		return nil, err
	}
	di, err := watcher.LoadDockerIgnore(dir, dfPath)
	if err != nil {
		return nil, err
	}
	tf, err := watcher.LoadTriggerFilter(dir)
	if err != nil {
		return nil, err
	}
	rel := ""
	if r, err := filepath.Rel(dir, dfPath); err == nil && !strings.HasPrefix(r, "..") {
		rel = filepath.ToSlash(r)
	}
	rules := m.Rules(rel, di, tf)
	ws := m.workspaceRules(&rules, opts.Mounts, opts.Workspace, opts.ServedDir)
	return &Project{Dir: dir, DockerfilePath: dfPath, Model: m, Rules: rules, Workspace: ws}, nil
}

// displayName is the Dockerfile's name relative to the context when inside it.
func displayName(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

// WatchRules makes a Project what the watcher's Reload returns: a reloaded
// project travels with the batch it was loaded for.
func (p *Project) WatchRules() watcher.Rules { return p.Rules }
