package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl/doctor"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
)

func newDoctorCmd() *cobra.Command {
	var pf projectFlags
	var output, hostIP string
	var cacheFrom []string
	cmd := &cobra.Command{
		Use:   "doctor [-C DIR] [-f DOCKERFILE] [--output json]",
		Short: "Find what makes ordinary edits cost a rebuild, with the fix",
		Long: `Check the project for what defeats Docker's layer cache or the live sync:
source copied before dependencies are installed, a missing or leaky
.dockerignore (with the context's size and largest files), unpinned or
local-path requirements, apt-get update on its own, pip without a cache
mount, a moving base tag, steps that execute after the source COPY,
unpinned packages on a RUN pip line, apt installs that keep recommends and
lists, a Dockerfile that copies no source, a Jupyter that serves another
folder than the code's, a base image not on the Engine (with its download
size from the registry), and a Jupyter with a fixed password, no token,
or on every interface.

Exit status 1 when an error-level finding exists (usable in CI), 2 for bad
project input.`,
		Example: "  tfdev doctor\n  tfdev doctor -C testdata/seed-bad --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "plain" && output != "json" {
				return badInput(fmt.Errorf("--output must be plain or json, not %q", output))
			}
			return runDoctor(cmd, &pf, doctor.Options{HostIP: hostIP, CacheFrom: cacheFrom}, output)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "plain", "plain or json (one finding per line)")
	cmd.Flags().StringVar(&hostIP, "host-ip", "127.0.0.1", "the address tfdev up publishes Jupyter on")
	cmd.Flags().StringArrayVar(&cacheFrom, "cache-from", nil, cacheFromUsage)
	return cmd
}

// runDoctor checks the project: its files, and what the Engine and the
// registries say of its base images when an Engine answers.
func runDoctor(cmd *cobra.Command, pf *projectFlags, o doctor.Options, output string) error {
	p, err := pf.load()
	if err != nil {
		return err
	}
	o.BuildArgs = buildArgs(pf.buildArgs) // the flags', and the compose file's that load added
	spec, _ := pf.projectSpec()           // load read it
	if spec != nil && spec.Context != "" && engine.RegistryOf(spec.Image) != "docker.io" && engine.RegistryOf(spec.Image) != "" {
		o.Registry, o.RegistryIn = spec.Image, spec.Source
		o.CacheFrom = append(o.CacheFrom, spec.CacheFrom...)
	}
	eng, engErr := engine.Connect(cmd.Context())
	if engErr == nil {
		defer eng.Close()
		o.Bases = baseImages(cmd.Context(), eng, p.Model.ExternalBases())
		o.ServedDir = servedDir(cmd.Context(), spec, p.Model, eng)
		o.Command = specRun(spec)
		if len(o.Command) == 0 {
			o.Command = p.Model.RunArgs()
		}
		if base := p.Model.ExternalBase(); len(o.Command) == 0 && base != "" {
			o.Command = eng.ImageCommand(cmd.Context(), base)
		}
	} else {
		o.ServedDir = p.Model.ServedDir(specRun(spec), nil) // from the files alone: no Engine answers
	}
	fs, err := doctor.Check(cmd.Context(), p, o)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		enc := json.NewEncoder(out)
		for _, f := range fs {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
	} else {
		for _, f := range fs {
			fmt.Fprintln(out, f)
		}
		if len(fs) == 0 {
			fmt.Fprintln(out, "tfdev: no findings: edits to the source are synced, dependency changes rebuild from cache")
		}
	}
	sayEngine(cmd, eng, engErr)
	if doctor.HasError(fs) {
		return errSilent
	}
	return nil
}

// sayEngine names, on stderr, the Engine tfdev up would use (local or
// remote, over what, API, GPU), or that none answers.
func sayEngine(cmd *cobra.Command, eng *engine.Engine, err error) {
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "tfdev: no Engine for tfdev up: %v\n", err)
		return
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "tfdev: engine %s\n", describeEngine(cmd.Context(), eng))
}

// registryTimeout bounds doctor's question to a registry.
const registryTimeout = 5 * time.Second

// baseImages says, of each base image, whether the Engine has it, and
// when not, how much its registry says a pull downloads.
func baseImages(ctx context.Context, eng *engine.Engine, refs []string) []doctor.Base {
	var out []doctor.Base
	for _, ref := range refs {
		b := doctor.Base{Ref: ref, Present: eng.ImagePresent(ctx, ref)}
		if !b.Present {
			rctx, cancel := context.WithTimeout(ctx, registryTimeout)
			size, err := engine.RegistrySize(rctx, ref, eng.Arch(ctx))
			cancel()
			if err != nil {
				b.Why = err.Error()
			}
			b.Size = size
		}
		out = append(out, b)
	}
	return out
}

func newInitCmd() *cobra.Command {
	var o doctor.InitOptions
	cmd := &cobra.Command{
		Use:   "init [-C DIR] [--base IMAGE] [--framework tensorflow|pytorch] [--force]",
		Short: "Write a cache-friendly Dockerfile, .dockerignore and VS Code task",
		Long: `Write, in DIR: a Dockerfile in three layers (base, dependencies with a
BuildKit pip cache mount, application), a .dockerignore in Docker's
semantics, a requirements.txt if there is none, and .vscode/tasks.json with
the tfdev background task. Existing files are never overwritten without
--force, which keeps the old ones as .bak.`,
		Example: "  tfdev init\n  tfdev init --framework pytorch\n  tfdev init --base tfdev-test/jupyter:bookworm --force",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := doctor.Init(o)
			if err != nil {
				return badInput(err)
			}
			out := cmd.OutOrStdout()
			for _, w := range ws {
				rel, err := filepath.Rel(o.Dir, w.Path)
				if err != nil {
					rel = w.Path
				}
				if w.Backup != "" {
					fmt.Fprintf(out, "tfdev: wrote %s (the old one is %s.bak)\n", rel, rel)
				} else {
					fmt.Fprintf(out, "tfdev: wrote %s\n", rel)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&o.Dir, "dir", "C", ".", "project directory")
	cmd.Flags().StringVar(&o.Base, "base", "", "base image (default: the framework's pinned Jupyter image)")
	cmd.Flags().StringVar(&o.Framework, "framework", "tensorflow", "tensorflow or pytorch")
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace existing files, keeping .bak copies")
	return cmd
}
