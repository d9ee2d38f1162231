package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func newPullCmd() *cobra.Command {
	var pf projectFlags
	var output string
	cmd := &cobra.Command{
		Use:   "pull [REF...]",
		Short: "Pull the project's base image (or REFs) with progress, and say how big it is",
		Long: `Pull the base images the project's Dockerfile builds from (or the images
named), with bytes, rate and time left, so that the first tfdev up does
not wait on them (before a flight, on a slow link). Logins come from the
docker CLI (docker login); a registry that wants one says which command
to run.`,
		Example: "  tfdev pull\n  tfdev pull -C testdata/demo --build-arg BASE=tfdev-test/jupyter:bookworm\n  tfdev pull nvcr.io/nvidia/tensorflow:23.10-tf2-py3",
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "plain" && output != "json" {
				return badInput(fmt.Errorf("--output must be plain or json, not %q", output))
			}
			refs := args
			if len(refs) == 0 {
				p, err := pf.load()
				if err != nil {
					return err
				}
				refs = p.Model.ExternalBases()
				if len(refs) == 0 {
					return badInput(fmt.Errorf("%s builds from no image (FROM scratch): nothing to pull", p.Model.Name))
				}
			}
			emit := eventPrinter(cmd.OutOrStdout(), output)
			return withEngine(cmd, func(ctx context.Context, eng *engine.Engine) error {
				for _, ref := range refs {
					if err := pullOne(ctx, eng, ref, emit); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "plain", "plain or json")
	return cmd
}

// pullOne pulls ref with its progress as build.pull events, then says how
// much came down and how big it is on the Engine.
func pullOne(ctx context.Context, eng *engine.Engine, ref string, emit func(event.Event)) error {
	if !eng.ImagePresent(ctx, ref) { // the registry is asked only when a download is due
		rctx, cancel := context.WithTimeout(ctx, registryTimeout)
		if size, err := engine.RegistrySize(rctx, ref, eng.Arch(ctx)); err == nil {
			emit(event.Event{Kind: event.Info, Image: ref, Size: size, Message: fmt.Sprintf("%s: %s to download, from the registry's manifest", ref, event.HumanBytes(size))})
		}
		cancel()
	}
	start := time.Now()
	emit(event.Event{Kind: event.Phase, State: event.StepRunning, Message: "pulling " + ref})
	got, err := eng.Pull(ctx, ref, func(pp model.PullProgress) { emit(pp.Event()) })
	if err != nil {
		return err
	}
	emit(event.Event{Kind: event.Phase, State: event.StepDone, Message: "pulling " + ref, Duration: time.Since(start), Bytes: got})
	size, err := eng.ImageSize(ctx, ref)
	if err != nil {
		return err
	}
	emit(event.Event{Kind: event.Info, Image: ref, Bytes: got, Size: size,
		Message: fmt.Sprintf("pulled %s: %s downloaded, %s on the Engine", ref, event.HumanBytes(got), event.HumanBytes(size))})
	return nil
}
