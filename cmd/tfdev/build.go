package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func newBuildCmd() *cobra.Command {
	var pf projectFlags
	var bf buildFlags
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the project's image once, with progress, and exit",
		Long: `One cached build with per-step progress: for CI, and for warming the
cache before tfdev up. Exit status 1 when the build fails, with the
failing Dockerfile line as FILE:LINE:1: error: MESSAGE.

--push REF also tags the image REF and pushes it, built with BuildKit's
inline cache, so that another machine's build with --cache-from REF reuses
its layers. Logins come from the docker CLI (docker login).`,
		Example: "  tfdev build\n  tfdev build --build-arg BASE=tfdev-test/jupyter:bookworm --output json\n" +
			"  tfdev build --push registry.example.com/team/project:cache\n  tfdev up --cache-from registry.example.com/team/project:cache",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd, pf.dir); err != nil {
				return err
			}
			p, err := pf.load()
			if err != nil {
				return err
			}
			return withEngine(cmd, func(ctx context.Context, eng *engine.Engine) error {
				return buildOnce(ctx, cmd, eng, p, &pf, bf)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&bf.builder, "builder", "auto", "auto, buildkit or legacy")
	cmd.Flags().StringVar(&bf.via, "context-via", "auto", contextViaUsage)
	cmd.Flags().StringArrayVar(&bf.cacheFrom, "cache-from", nil, cacheFromUsage)
	cmd.Flags().StringVar(&bf.push, "push", "", "tag the image REF and push it, with BuildKit's inline cache, for other machines' --cache-from")
	cmd.Flags().StringVarP(&bf.output, "output", "o", "plain", "plain or json")
	return cmd
}

type buildFlags struct {
	builder, via, output, push string
	cacheFrom                  []string
}

func buildOnce(ctx context.Context, cmd *cobra.Command, eng *engine.Engine, p *dockerfile.Project, pf *projectFlags, bf buildFlags) error {
	emit := eventPrinter(cmd.OutOrStdout(), bf.output)
	emit(event.Event{Kind: event.BuildStart, Reason: "tfdev build"})
	args, tags := buildArgs(pf.buildArgs), []string{model.ImageRepo(p.Dir) + ":latest"}
	if bf.push != "" {
		args["BUILDKIT_INLINE_CACHE"] = "1" // the cache travels in the image's config
		tags = append(tags, bf.push)
	}
	cacheFrom := bf.cacheFrom
	if spec, _ := pf.projectSpec(); spec != nil && !cmd.Flags().Changed("cache-from") && len(spec.CacheFrom) > 0 {
		cacheFrom = spec.CacheFrom
	}
	res, err := eng.Build(ctx, model.BuildOptions{
		Project: p, Tags: tags, BuildArgs: args, CacheFrom: cacheFrom,
		Target: pf.target, Builder: model.Builder(bf.builder), Context: contextVia(bf.via),
		Labels:   map[string]string{model.LabelProject: model.ProjectID(p.Dir)},
		Progress: func(sp model.StepProgress) { emit(sp.Event(p.Model.Name)) },
		Pull:     func(pp model.PullProgress) { emit(pp.Event()) },
		Say:      func(msg string) { emit(event.Event{Kind: event.Info, Message: msg}) },
	})
	if err != nil {
		var be *model.BuildError
		if ok := asBuildError(err, &be); ok {
			emit(event.Event{Kind: event.BuildFailed, File: be.File, Line: be.Line, Instruction: be.Instruction, Message: be.Detail(), Log: be.Log})
			return errSilent
		}
		return err
	}
	emit(res.DoneEvent())
	if bf.push == "" {
		return nil
	}
	start := time.Now()
	emit(event.Event{Kind: event.Phase, State: event.StepRunning, Message: "pushing " + bf.push})
	var meter event.PullMeter
	said := time.Now()
	err = eng.Push(ctx, bf.push, func(pp model.PullProgress) {
		e := pp.Event()
		e.Time = time.Now()
		meter.Add(e)
		if e.Time.Sub(said) >= pullEvery {
			said = e.Time
			emit(event.Event{Kind: event.Info, Message: "pushing " + bf.push + ": " + meter.Summary()})
		}
	})
	if err != nil {
		return err
	}
	cur, _ := meter.Totals()
	emit(event.Event{Kind: event.Phase, State: event.StepDone, Message: "pushing " + bf.push, Duration: time.Since(start), Bytes: cur})
	return nil
}
