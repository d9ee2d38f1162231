package dockerctl

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// jupyterCommand makes sure the container starts Jupyter. An image whose
// command clearly serves nothing (bash, python, sleep infinity: the
// tensorflow/tensorflow:2.x-gpu images run bash) gets tfdev's own command,
// when the image has Jupyter: jupyter lab where JupyterLab is installed,
// else jupyter notebook, serving the folder the code is synced to, as the
// image's user, with tfdev's token (JUPYTER_TOKEN); any other command is
// the image's own way of serving and runs as it is. An image with no Jupyter
// is an error before any container runs, not a crash loop. A command the
// user gave (--command) runs as it is.
func (x *executor) jupyterCommand(ctx context.Context, p *dockerfile.Project, o *model.RunOptions) error {
	if o.Run.CommandGiven {
		return nil
	}
	run := append(slices.Clone(o.Run.Entrypoint), o.Run.Cmd...)
	if o.Run.Entrypoint == nil && o.Run.Cmd == nil {
		run = x.eng.ImageCommand(ctx, o.Image)
	}
	serve := o.Run.ServeDir
	// A Jupyter command inherited from the base (the Dockerfile and the
	// compose file give none) that serves a folder without the project's
	// code (tensorflow's images serve /tf; the code is copied to
	// /usr/src/app): the project's notebooks would be nowhere in Jupyter.
	// tfdev serves the code's folder instead.
	elsewhere := ""
	if inherited := o.Run.Entrypoint == nil && o.Run.Cmd == nil && len(p.Model.RunArgs()) == 0; inherited && serve == "" && dockerfile.StartsJupyter(run) {
		served, code := dockerfile.ServedDirFromArgs(run), servedFolder(p)
		if served != "" && code != "" && code != "/" && !within(code, served) {
			serve, elsewhere = code, served
		}
	}
	switch {
	case dockerfile.StartsJupyter(run) && (serve == "" || dockerfile.ServedDirFromArgs(run) == serve):
		return nil // Jupyter, serving the right folder
	case !dockerfile.StartsJupyter(run) && !dockerfile.StartsNoServer(run):
		return nil // the image's own way of serving
	}
	found, err := x.eng.JupyterIn(ctx, o.Image)
	if err != nil {
		return err
	}
	if found == "" {
		return &model.NoJupyterError{Command: run}
	}
	kind, version, _ := strings.Cut(found, " ")
	dir := cmp.Or(serve, servedFolder(p))
	// The folder may not be there yet (the sync makes it a moment later):
	// Jupyter refuses to serve a folder that is not there.
	o.Run.Entrypoint = []string{"sh", "-c", `mkdir -p "$0" 2>/dev/null; exec "$@"`, dir}
	o.Run.Cmd = append([]string{"jupyter", kind, rootFlag(kind, version, dir)}, "--ip=0.0.0.0", fmt.Sprintf("--port=%d", o.Run.Port()), "--no-browser", "--allow-root")
	what := "no command"
	if len(run) > 0 {
		what = strings.Join(run, " ")
	}
	msg := fmt.Sprintf("the image's command (%s) does not start Jupyter: tfdev starts jupyter %s, serving %s (--command runs your own)", what, kind, dir)
	switch {
	case elsewhere != "":
		msg = fmt.Sprintf("the Jupyter command the image inherits from its base (%s) serves %s, which does not hold the project's code: tfdev starts jupyter %s serving %s, where the code is (--command runs your own)", what, elsewhere, kind, dir)
	case dockerfile.StartsJupyter(run):
		msg = fmt.Sprintf("Jupyter serves the dev container's workspace, %s: tfdev starts jupyter %s there (--command runs your own)", dir, kind)
	}
	x.emit(event.Event{Kind: event.Info, Message: msg})
	return nil
}

// servedFolder is where the code is synced to: the workspace of a
// Dockerfile that copies no source, else the folder a source COPY fills,
// else the final WORKDIR.
func servedFolder(p *dockerfile.Project) string {
	if p.Workspace != "" {
		return p.Workspace
	}
	if roots := loop.KernelPathRoots(p.Rules); len(roots) > 0 {
		return roots[0]
	}
	return p.Model.FinalWorkdir()
}

// rootFlag is the folder flag of the Jupyter found: jupyter_server's
// (JupyterLab, Notebook 7 and later), else Notebook 6's.
func rootFlag(kind, version, dir string) string {
	if kind == "lab" || !strings.HasPrefix(version, "6.") && !strings.HasPrefix(version, "5.") && version != "" {
		return "--ServerApp.root_dir=" + dir
	}
	return "--notebook-dir=" + dir
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	p, dir = strings.TrimSuffix(p, "/"), strings.TrimSuffix(dir, "/")
	return p == dir || strings.HasPrefix(p, dir+"/")
}
