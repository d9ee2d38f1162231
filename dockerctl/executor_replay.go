package dockerctl

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// replayLogLines is how many of a step's last output lines its final
// event carries; while it runs, its new lines come every
// replayOutputEvery.
const (
	replayLogLines    = 12
	replayOutputEvery = 500 * time.Millisecond
)

// replay carries out a replay plan in the running container, step by
// step, saying each; it stops at the first step that fails.
func (x *executor) replay(ctx context.Context, e loop.Replay, ledger *model.Ledger) loop.Replayed {
	p, plan := e.Project, e.Plan
	out := loop.Replayed{C: e.C, Changed: e.Changed}
	baseUser := ""
	if plan.Base != "" {
		baseUser = x.eng.ImageUser(ctx, plan.Base)
	}
	var log []string
	for _, st := range plan.Steps {
		ev := event.Event{Kind: event.ReplayStep, Index: st.Index, Line: st.Line, File: p.Model.Name, Instruction: st.Text, State: event.StepRunning}
		x.emit(ev)
		start := time.Now()
		lines := &tailLines{n: replayLogLines}
		var fresh []string
		said := start
		code, err := x.replayStep(ctx, p, e.C, st, baseUser, ledger, func(l string) {
			lines.add(l)
			log = append(log, l)
			fresh = append(fresh, l)
			if time.Since(said) >= replayOutputEvery { // the output streams, a few events a second
				up := ev
				up.Log, fresh, said = fresh, nil, time.Now()
				x.emit(up)
			}
		})
		ev.Duration, ev.Log, ev.State = time.Since(start), lines.get(), event.StepDone
		if err != nil || code != 0 {
			ev.State = event.StepFailed
			x.emit(ev)
			out.Err = &model.ReplayError{File: p.Model.Name, Line: st.Line, Instruction: st.Text, Code: code, Log: ev.Log, Err: err}
			return out
		}
		x.emit(ev)
	}
	out.Summary, out.Restart = pipSummary(log)
	if len(out.Restart) > 0 {
		// Which kernels imported what changed: those must restart, the
		// others need not. Not knowing costs only this detail.
		out.Kernels, _ = x.eng.KernelImports(ctx, e.C, out.Restart)
		for i := range out.Kernels {
			out.Kernels[i].Kernel = x.shownKernel(out.Kernels[i].Kernel)
		}
	}
	return out
}

// replayStep runs one step: a copy of the changed files, or a RUN with
// its bind-mounted sources in place for it.
func (x *executor) replayStep(ctx context.Context, p *dockerfile.Project, c *model.Container, st dockerfile.ReplayStep, baseUser string, ledger *model.Ledger, line func(string)) (int, error) {
	if len(st.Copies) > 0 {
		return 0, x.copyInto(ctx, p, c, st.Copies, ledger)
	}
	var made []string // bind targets that did not exist: removed after the run
	for _, b := range st.Binds {
		if _, err := x.eng.ExecOK(ctx, c.ID, "test", "-e", b.Dest); err != nil {
			made = append(made, b.Dest)
		}
		if err := x.copyInto(ctx, p, c, []dockerfile.ReplayCopy{b}, nil); err != nil {
			return 0, err
		}
	}
	defer func() {
		if len(made) > 0 {
			_, _ = x.eng.ExecOK(context.WithoutCancel(ctx), c.ID, append([]string{"rm", "-rf", "--"}, made...)...) // best effort: a leftover in /tmp harms nothing
		}
	}()
	user := st.User
	if user == "" {
		user = baseUser
	}
	return x.eng.ExecStream(ctx, c.ID, model.ExecSpec{Cmd: st.Args, Env: st.Env, Workdir: st.Workdir, User: user}, line)
}

// copyInto puts context files (or the files under a context folder) at
// their container paths. These are build inputs: the host's copy wins,
// and is recorded in the ledger (when given) as agreed, so that the
// container's watch does not take tfdev's own write for the user's.
func (x *executor) copyInto(ctx context.Context, p *dockerfile.Project, c *model.Container, copies []dockerfile.ReplayCopy, ledger *model.Ledger) error {
	var items []watcher.SyncItem
	var files []watcher.ContextEntry
	for _, cp := range copies {
		if fi, err := os.Stat(filepath.Join(p.Dir, filepath.FromSlash(cp.Source))); err == nil && fi.IsDir() {
			if files == nil { // the context's own listing: .dockerignore applies
				var err error
				if files, err = watcher.ListContext(ctx, p.Dir, p.Rules.Ignore); err != nil {
					return err
				}
			}
		}
		under := strings.TrimSuffix(cp.Source, "/") + "/"
		if under == "./" {
			under = ""
		}
		found := false
		for _, f := range files {
			if rel, ok := strings.CutPrefix(f.Rel, under); ok && f.Mode.IsRegular() {
				items = append(items, watcher.SyncItem{Change: watcher.Change{Path: f.Rel}, Dest: path.Join(cp.Dest, rel)})
				found = true
			}
		}
		if !found {
			items = append(items, watcher.SyncItem{Change: watcher.Change{Path: cp.Source}, Dest: cp.Dest})
		}
	}
	res, err := x.eng.Sync(ctx, c.ID, p.Dir, items, nil)
	if err == nil && len(res.Errors) > 0 {
		err = res.Errors[0]
	}
	if err != nil || ledger == nil {
		return err
	}
	for _, it := range items {
		if sum, err := engine.FileSHA256(filepath.Join(p.Dir, filepath.FromSlash(it.Path))); err == nil {
			ledger.Set(path.Clean(it.Dest), sum)
		}
	}
	return nil
}

// tailLines keeps the last n lines.
type tailLines struct {
	n     int
	lines []string
}

func (t *tailLines) add(l string) {
	t.lines = append(t.lines, l)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
}

func (t *tailLines) get() []string { return append([]string(nil), t.lines...) }

var (
	pipInstalled = regexp.MustCompile(`^Successfully installed (.+)$`)
	pipExisting  = regexp.MustCompile(`^\s*Found existing installation: (\S+) (\S+)$`)
)

// pipSummary turns pip's output into a short line ("installed tiny 1.0;
// numpy 1.24.2 -> 1.25.0") and the packages whose version changed, which
// kernels that imported them must restart to see.
func pipSummary(log []string) (string, []string) {
	old := map[string]string{}
	var installed []string
	for _, l := range log {
		if m := pipExisting.FindStringSubmatch(l); m != nil {
			old[normalizePkg(m[1])] = m[2]
		}
		if m := pipInstalled.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			installed = append(installed, strings.Fields(m[1])...)
		}
	}
	if len(installed) == 0 {
		return "nothing new installed", nil
	}
	var added, changed, restart []string
	for _, nv := range installed {
		i := strings.LastIndex(nv, "-")
		if i <= 0 {
			continue
		}
		name, version := nv[:i], nv[i+1:]
		if was, ok := old[normalizePkg(name)]; ok {
			changed = append(changed, fmt.Sprintf("%s %s -> %s", name, was, version))
			restart = append(restart, name)
		} else {
			added = append(added, name+" "+version)
		}
	}
	sort.Strings(restart)
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "installed "+strings.Join(added, ", "))
	}
	if len(changed) > 0 {
		parts = append(parts, "changed "+strings.Join(changed, ", ")+"; kernels that imported "+strings.Join(restart, ", ")+" must restart to see it")
	}
	return strings.Join(parts, "; "), restart
}

func normalizePkg(n string) string {
	return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(n))
}
