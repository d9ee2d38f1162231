package dockerfile

import (
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/tfdev-dev/tfdev/watcher"
)

// WorkspaceWhy is why the workspace rule syncs a path, as explain says it.
const WorkspaceWhy = "workspace: the Dockerfile copies no source"

// CopiesSource reports whether some step of the rules puts the project's
// source in the image: a sync step, or a step that reads the whole
// context. A Dockerfile that copies only requirements.txt does not.
func CopiesSource(r watcher.Rules) bool {
	for _, s := range r.Steps {
		if s.Action == watcher.Sync || s.Source == "." || s.Source == "" {
			return true
		}
	}
	return false
}

// FinalWorkdir is the working directory of the stage that runs, as its
// last WORKDIR (or its base's) leaves it.
func (m *Model) FinalWorkdir() string { return m.TargetStage().workdir }

// RunArgs are the ENTRYPOINT and CMD the stage that runs sets, itself or
// through the stages it is built from (nil when only the base image's
// apply).
func (m *Model) RunArgs() []string {
	var entry, cmd []string
	for i := m.Target; i >= 0; i = m.Stages[i].BaseStage {
		for _, st := range m.Stages[i].Steps {
			switch c := st.cmd.(type) {
			case *instructions.EntrypointCommand:
				if entry == nil {
					entry = c.CmdLine
				}
			case *instructions.CmdCommand:
				if cmd == nil {
					cmd = c.CmdLine
				}
			}
		}
		if entry != nil || cmd != nil {
			break
		}
	}
	return append(entry, cmd...)
}

// ExternalBase is the image the stage that runs is built from at the end
// of its chain of stages ("" for scratch).
func (m *Model) ExternalBase() string {
	i := m.Target
	for m.Stages[i].BaseStage >= 0 {
		i = m.Stages[i].BaseStage
	}
	if b := m.Stages[i].Base; b != "scratch" {
		return b
	}
	return ""
}

// ExternalBases are the images the stages the target uses are built
// from, each once, in file order (not scratch, not a variable left
// unexpanded).
func (m *Model) ExternalBases() []string {
	used := m.usedStages()
	var out []string
	for i, st := range m.Stages {
		if !used[i] || st.BaseStage >= 0 || st.Base == "scratch" || strings.Contains(st.Base, "$") || slices.Contains(out, st.Base) {
			continue
		}
		out = append(out, st.Base)
	}
	return out
}

// ServedDir is the folder the container's Jupyter will serve: the one run
// (a compose file's entrypoint and command) names, else the one the
// Dockerfile's ENTRYPOINT and CMD name, else baseServedDir's answer for
// the base image (asked only then; nil or "": unknown).
//
// A Jupyter command that names no folder serves the folder it starts in:
// the container's working directory, the Dockerfile's final WORKDIR (or
// the base image's), as `CMD jupyter notebook --ip 0.0.0.0` after
// `WORKDIR /app` serves /app.
func (m *Model) ServedDir(run []string, baseServedDir func(image string) string) string {
	for _, args := range [][]string{run, m.RunArgs()} {
		if d := ServedDirFromArgs(args); d != "" {
			return d
		}
		if StartsJupyter(args) {
			return m.FinalWorkdir()
		}
	}
	if base := m.ExternalBase(); base != "" && baseServedDir != nil {
		return baseServedDir(base)
	}
	return ""
}

// StartsJupyter reports whether a command line runs a Jupyter server
// (jupyter notebook, jupyter lab, jupyter server, jupyter-notebook ...), in
// exec or shell form, wrapped in sh -c or bash -c or not.
func StartsJupyter(args []string) bool {
	var words []string
	for _, a := range args {
		words = append(words, strings.Fields(a)...)
	}
	for i, w := range words {
		switch path.Base(strings.Trim(w, `"'`)) {
		case "jupyter-notebook", "jupyter-lab", "jupyter-server":
			return true
		case "jupyter":
			if i+1 < len(words) {
				switch strings.Trim(words[i+1], `"'`) {
				case "notebook", "lab", "server", "nbclassic":
					return true
				}
			}
		}
	}
	return false
}

// StartsNoServer reports whether a command line clearly runs no server: no
// command at all, a shell, an interpreter with nothing to run, or a
// process that only waits (sleep infinity, tail -f /dev/null). Such an
// image (tensorflow/tensorflow:2.x-gpu runs bash) needs its Jupyter
// started; any other command is the image's own way of serving (a
// start-notebook script, a stand-in) and runs as it is.
func StartsNoServer(args []string) bool {
	if len(args) == 0 {
		return true
	}
	first := path.Base(args[0])
	switch first {
	case "bash", "sh", "zsh", "dash", "ash", "fish", "ksh":
		// A shell, unless it is told to run a line (sh -c "...").
		return !slices.Contains(args[1:], "-c")
	case "python", "python3", "ipython", "ipython3":
		return len(args) == 1
	case "sleep", "true", "cat":
		return true
	case "tail":
		return slices.Contains(args, "-f") || slices.Contains(args, "-F")
	}
	return false
}

// ServedDirFromArgs finds the folder a Jupyter command line serves
// (--notebook-dir, --ServerApp.root_dir and their kin), "" when it names
// none.
func ServedDirFromArgs(args []string) string {
	var words []string
	for _, a := range args {
		words = append(words, strings.Fields(a)...)
	}
	flags := []string{"--notebook-dir", "--NotebookApp.notebook_dir", "--ServerApp.root_dir", "--ServerApp.notebook_dir"}
	for i, w := range words {
		for _, f := range flags {
			v, ok := strings.CutPrefix(w, f+"=")
			if !ok && w == f && i+1 < len(words) {
				v, ok = words[i+1], true
			}
			if v = strings.Trim(v, `"'`); ok && path.IsAbs(v) {
				return path.Clean(v)
			}
		}
	}
	return ""
}

// workspaceRules adds to r the mounts given and, when neither they nor a
// step put the source in the container, the workspace the project syncs
// into: ws, else the folder Jupyter serves (servedDir), else the final
// WORKDIR.
func (m *Model) workspaceRules(r *watcher.Rules, mounts []watcher.Rule, ws string, servedDir func(*Model) string) string {
	r.Mounts = append(r.Mounts, mounts...)
	if len(mounts) > 0 || CopiesSource(*r) {
		return ""
	}
	if ws == "" && servedDir != nil {
		ws = servedDir(m)
	}
	if ws == "" {
		ws = m.FinalWorkdir()
	}
	if ws == "" || ws == "/" {
		return "" // nowhere sensible to put it
	}
	r.Mounts = append(r.Mounts, watcher.Rule{Source: ".", Dest: path.Clean(ws), DestDir: true, Action: watcher.Sync, Why: WorkspaceWhy})
	return path.Clean(ws)
}
