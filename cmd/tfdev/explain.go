package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/runspec"
	"github.com/tfdev-dev/tfdev/watcher"
)

func newExplainCmd() *cobra.Command {
	var pf projectFlags
	var output string
	cmd := &cobra.Command{
		Use:   "explain [-f DOCKERFILE] [-C DIR] [--output json] PATH...",
		Short: "Say what a change to each path would do, and why",
		Long: `For each path, say whether a change to it is synced into the running
container (and where), triggers a cached rebuild, or is ignored, with the
Dockerfile step or .dockerignore line that decides. For a dependency file
(one a rebuild reads), say too whether tfdev up --deps live would install
its change in the running container, and why not when it cannot.`,
		Example: `  tfdev explain train.py requirements.txt
  tfdev explain -C testdata/demo --output json train.py data/x.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "plain" && output != "json" {
				return badInput(fmt.Errorf("--output must be plain or json, not %q", output))
			}
			p, err := pf.load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			for _, a := range args {
				rel, isDir := projectPath(p.Dir, a)
				d := watcher.Decide(rel, isDir, p.Rules)
				v := depsVerdict(p, d)
				if output == "json" {
					if err := enc.Encode(explained{d, v.Deps, v.Why}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintln(out, d)
				if mods, restart := loop.ReloadNote([]watcher.SyncItem{{Change: watcher.Change{Path: d.Path}, Dest: d.Dest}}, loop.KernelPathRoots(p.Rules)); d.Action == watcher.Sync && len(mods)+len(restart) > 0 {
					fmt.Fprintf(out, "  running kernels: %s\n", kernelNote(mods, restart))
				}
				if v.Deps != "" {
					fmt.Fprintf(out, "  with --deps live: %s: %s\n", v.Deps, v.Why)
				}
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "plain", "plain or json (one object per path per line)")
	return cmd
}

// kernelNote says what running kernels do with a synced module.
func kernelNote(mods, restart []string) string {
	if len(mods) > 0 {
		return "the kernels that imported module " + strings.Join(mods, ", ") + " reload it before their next cell (tfdev tells them after the sync; --autoreload=false leaves it to you)"
	}
	return "restart the kernels that imported " + strings.Join(restart, ", ") + ": a reload cannot apply a change to it"
}

// explained is a decision with the live-install verdict, as JSON.
type explained struct {
	watcher.Decision
	Deps    string `json:"deps,omitempty"` // "live" or "rebuild", for a rebuild input
	DepsWhy string `json:"deps_why,omitempty"`
}

type verdict struct{ Deps, Why string }

// depsVerdict says what --deps live does with a change to a rebuild
// input: the steps it replays in the running container, or why it
// rebuilds and replaces instead.
func depsVerdict(p *dockerfile.Project, d watcher.Decision) verdict {
	if d.Action != watcher.Rebuild {
		return verdict{}
	}
	plan, err := p.Model.Replay([]string{d.Path}, p.Rules)
	if err != nil {
		var nr *dockerfile.NotReplayable
		if errors.As(err, &nr) && nr.Line > 0 {
			return verdict{"rebuild", fmt.Sprintf("%s:%d: %s", p.Model.Name, nr.Line, nr.Why)}
		}
		if errors.As(err, &nr) {
			return verdict{"rebuild", nr.Why}
		}
		return verdict{"rebuild", err.Error()}
	}
	var steps []string
	for _, st := range plan.Steps {
		steps = append(steps, fmt.Sprintf("%s:%d %s", p.Model.Name, st.Line, st.Text))
	}
	return verdict{"live", "installed in the running container (its kernels live on) by " + strings.Join(steps, ", then ") +
		"; the image is rebuilt behind it and the container is not replaced"}
}

// projectPath turns a path given on the command line (relative to the
// current directory, or absolute) into a context-relative one. A path that
// is already relative to the context and exists there is taken as such.
func projectPath(dir, arg string) (string, bool) {
	candidates := []string{filepath.Join(dir, arg)}
	if abs, err := filepath.Abs(arg); err == nil && !filepath.IsAbs(arg) {
		candidates = append(candidates, abs)
	} else if filepath.IsAbs(arg) {
		candidates = []string{arg}
	}
	for _, c := range candidates {
		if fi, err := os.Lstat(c); err == nil {
			return relSlash(dir, c), fi.IsDir()
		}
	}
	return relSlash(dir, candidates[0]), strings.HasSuffix(arg, "/")
}

// relSlash is p relative to dir with forward slashes; p as it is when it
// has no relative form (another volume), which explain then reports as
// outside the context.
func relSlash(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

// projectFlags are -C and -f, shared by the commands that read a project.
type projectFlags struct {
	dir        string
	dockerfile string
	target     string
	buildArgs  []string
	service    string // the compose service; "" picks one
	// As docker compose takes them: the files to merge, the env files for
	// interpolation, the profiles to enable.
	composeFiles, envFiles, profiles []string

	cmd    *cobra.Command
	spec   *runspec.Spec // read once
	noSpec bool          // read: there is none
}

func (pf *projectFlags) register(cmd *cobra.Command) {
	pf.cmd = cmd
	cmd.Flags().StringVarP(&pf.dir, "dir", "C", ".", "project (build context) directory")
	cmd.Flags().StringVarP(&pf.dockerfile, "file", "f", "Dockerfile", "Dockerfile, relative to the project directory (default: the compose service's or devcontainer.json's, else Dockerfile)")
	cmd.Flags().StringVar(&pf.target, "target", "", "build stage to run (default: the last)")
	cmd.Flags().StringArrayVar(&pf.buildArgs, "build-arg", nil, "build argument K=V (repeatable)")
	cmd.Flags().StringVar(&pf.service, "service", "", "the compose service to run (default: the only one with a build, or the one publishing 8888)")
	cmd.Flags().StringArrayVar(&pf.composeFiles, "compose-file", nil, "compose file, as docker compose -f takes it (repeatable, merged in order; default: COMPOSE_FILE, else compose.yaml and its kin)")
	cmd.Flags().StringArrayVar(&pf.envFiles, "env-file", nil, "env file for the compose file's variables (repeatable; default: the project's .env)")
	cmd.Flags().StringArrayVar(&pf.profiles, "profile", nil, "compose profile to enable (repeatable; default: COMPOSE_PROFILES)")
}

// load reads the project: its compose file or devcontainer.json, then the
// Dockerfile they name (or the flags do).
func (pf *projectFlags) load() (*dockerfile.Project, error) {
	if _, err := os.Stat(pf.dir); err != nil {
		return nil, badInput(fmt.Errorf("project directory: %w", err))
	}
	spec, err := pf.projectSpec()
	if err != nil {
		return nil, err
	}
	p, err := dockerfile.Load(pf.dir, pf.dockerfile, pf.loadOptions(context.Background(), spec))
	return p, projectError(err)
}

// splitKV reads a --build-arg: K=V, or K alone to take K from the
// environment, as docker build does.
func splitKV(kv string) (string, string, bool) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		v, ok = os.LookupEnv(k)
	}
	return k, v, ok
}
