package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/runspec"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
	"github.com/tfdev-dev/tfdev/watcher"
)

// projectSpec reads what the project's compose file or devcontainer.json
// says, with the flags (and tfdev.toml, which sets them) above it:
// precedence is flags > tfdev.toml > compose > devcontainer > the
// Dockerfile alone. It fills pf's Dockerfile, target and build args the
// user did not give. nil when the project has neither file.
func (pf *projectFlags) projectSpec() (*runspec.Spec, error) {
	if pf.spec != nil || pf.noSpec {
		return pf.spec, nil
	}
	spec, err := runspec.FindWith(pf.dir, runspec.FindOptions{Service: pf.service, ComposeFiles: pf.composeFiles, EnvFiles: pf.envFiles, Profiles: pf.profiles})
	if err != nil {
		return nil, badInput(err)
	}
	pf.noSpec = spec == nil
	if spec == nil {
		return nil, nil
	}
	changed := func(name string) bool { return pf.cmd != nil && pf.cmd.Flags().Changed(name) }
	if !changed("file") {
		switch {
		case spec.Context != "" && spec.Dockerfile != "":
			pf.dockerfile = spec.Dockerfile
		case spec.Context == "" && spec.Image != "":
			df, err := imageDockerfile(pf.dir, spec.Image)
			if err != nil {
				return nil, err
			}
			pf.dockerfile = df
		}
	}
	if !changed("target") && spec.Target != "" {
		pf.target = spec.Target
	}
	given := buildArgs(pf.buildArgs)
	for _, k := range slices.Sorted(maps.Keys(spec.Args)) {
		if _, ok := given[k]; !ok {
			pf.buildArgs = append(pf.buildArgs, k+"="+spec.Args[k])
		}
	}
	pf.spec = spec
	return spec, nil
}

// imageDockerfile: a dev container that names an image and no build runs
// that image; tfdev builds it through a one-line Dockerfile of its own,
// kept beside the project's state in the user's cache: reading the
// project's files never writes into the project.
func imageDockerfile(dir, image string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	p := strings.TrimSuffix(statefile.StatePath(abs), ".json") + ".image.Dockerfile"
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(p, []byte("FROM "+image+"\n"), 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// describe names the file (and service) that configured the session.
func describe(spec *runspec.Spec) string {
	if spec.Service != "" {
		return fmt.Sprintf("%s, service %s", spec.Source, spec.Service)
	}
	return spec.Source
}

// mountRules are a spec's project bind mounts as sync mappings.
func mountRules(spec *runspec.Spec) []watcher.Rule {
	var out []watcher.Rule
	for _, m := range spec.Mounts {
		out = append(out, watcher.Rule{Source: m.Source, Dest: m.Target, Action: watcher.Sync, Line: m.Line, Step: m.Text, File: spec.Source})
	}
	return out
}

// loadOptions are the dockerfile.Options of a project with its spec.
func (pf *projectFlags) loadOptions(ctx context.Context, spec *runspec.Spec) dockerfile.Options {
	o := dockerfile.Options{BuildArgs: buildArgs(pf.buildArgs), Target: pf.target}
	if spec != nil {
		o.Mounts, o.Workspace = mountRules(spec), spec.Workspace
	}
	o.ServedDir = func(m *dockerfile.Model) string { return servedDir(ctx, spec, m, nil) }
	// The base image's working directory, as tfdev up reads it, so that
	// explain and doctor take the decision up takes for every path (the
	// workspace of a base whose command does not say what it serves).
	o.BaseWorkdir = func(ref string) string {
		e, err := engine.Connect(ctx)
		if err != nil {
			return ""
		}
		defer e.Close()
		return e.ImageWorkdir(ctx, ref)
	}
	return o
}

// servedDir is the folder the container's Jupyter will serve: the compose
// command's, the Dockerfile's CMD's, else the base image's, asked of eng
// (or, when nil, of an Engine reached only then).
func servedDir(ctx context.Context, spec *runspec.Spec, m *dockerfile.Model, eng *engine.Engine) string {
	return m.ServedDir(specRun(spec), func(base string) string {
		if eng == nil {
			e, err := engine.Connect(ctx)
			if err != nil {
				return ""
			}
			defer e.Close()
			eng = e
		}
		return eng.ImageServedDir(ctx, base)
	})
}

// specRun is the entrypoint and command a spec gives the container.
func specRun(spec *runspec.Spec) []string {
	if spec == nil {
		return nil
	}
	return append(slices.Clone(spec.Entrypoint), spec.Command...)
}

// applySpec puts what the spec says about running the container into the
// session's options, below the flags the user gave.
func applySpec(cmd *cobra.Command, opts *dockerctl.SessionOptions, spec *runspec.Spec) {
	if spec == nil {
		return
	}
	changed := cmd.Flags().Changed
	opts.ConfiguredBy = describe(spec)
	opts.Run = model.RunSettings{Entrypoint: spec.Entrypoint, Cmd: spec.Command, WorkingDir: spec.WorkingDir, User: spec.User,
		JupyterPort: spec.JupyterPort, ShmSize: spec.ShmSize, IPC: spec.IPC, Binds: spec.Binds, Tmpfs: spec.Tmpfs, ServeDir: spec.ServeDir}
	opts.Lifecycle = spec.Lifecycle
	opts.Env, opts.Mounts, opts.Workspace = spec.Env, mountRules(spec), spec.Workspace
	if !changed("gpus") && spec.GPUs != "" {
		opts.GPUs, opts.GPUsFrom = spec.GPUs, spec.Source
	}
	if !changed("port") && spec.HostPort > 0 {
		opts.Port = spec.HostPort
	}
	if !changed("cache-from") && len(spec.CacheFrom) > 0 {
		opts.CacheFrom = spec.CacheFrom
	}
	for _, w := range spec.Warnings {
		opts.Notes = append(opts.Notes, spec.Source+": "+w)
	}
	if len(spec.Unsupported) > 0 {
		opts.Notes = append(opts.Notes, fmt.Sprintf("%s: tfdev does not apply %s", spec.Source, strings.Join(spec.Unsupported, "; ")))
	}
}
