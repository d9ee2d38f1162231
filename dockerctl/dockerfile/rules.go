package dockerfile

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Rules derives, from the Dockerfile, what a change to each host path costs:
//
//   - a path read by a COPY/ADD of the target stage after which no step
//     executes is synced to where that step puts it;
//   - a path read by a step that some RUN follows, or by a stage the target
//     uses, or extracted by ADD, or bind-mounted into a RUN, means a rebuild;
//   - the Dockerfile and its ignore files always mean a rebuild.
//
// dockerfilePath is the Dockerfile's path relative to the context ("" when
// it lies outside); ignore and triggers may be nil.
func (m *Model) Rules(dockerfilePath string, ignore *watcher.DockerIgnore, triggers *watcher.TriggerFilter) watcher.Rules {
	r := watcher.Rules{Dockerfile: m.Name, Ignore: ignore, Triggers: triggers}
	if dockerfilePath != "" {
		r.Always = append(r.Always, dockerfilePath, dockerfilePath+".dockerignore")
	}
	r.Always = append(r.Always, ".dockerignore")

	used := m.usedStages()
	for si, s := range m.Stages {
		if !used[si] {
			continue
		}
		lastRun := 0
		for _, st := range s.Steps {
			if _, ok := st.cmd.(*instructions.RunCommand); ok {
				lastRun = st.Line
			}
		}
		workdir := m.stageStartWorkdir(si)
		for _, st := range s.Steps {
			if wd, ok := st.cmd.(*instructions.WorkdirCommand); ok {
				workdir = resolve(workdir, wd.Path)
			}
			for _, rule := range m.stepRules(st, workdir) {
				switch {
				case si != m.Target:
					rule.Action = watcher.Rebuild
					rule.Why = fmt.Sprintf("it feeds build stage %s, which the target stage uses", m.stageLabel(si))
				case rule.Action == watcher.Rebuild:
					// already decided by the step (ADD archive, RUN mount)
				case lastRun > st.Line:
					rule.Action = watcher.Rebuild
					rule.Why = fmt.Sprintf("a RUN at %s:%d executes after this step, so the image depends on it", m.Name, lastRun)
					if rule.Source == "." {
						rule.Why += "; this Dockerfile defeats the layer cache: every edit reruns that RUN." +
							" Copy the dependency files first, install, then COPY . last"
					}
				default:
					rule.Action = watcher.Sync
					rule.Why = "no step after it executes"
				}
				r.Steps = append(r.Steps, rule)
			}
		}
	}
	sort.SliceStable(r.Steps, func(i, j int) bool { return r.Steps[i].Line < r.Steps[j].Line })
	return r
}

// stepRules lists the host sources one step reads.
func (m *Model) stepRules(st Step, workdir string) []watcher.Rule {
	var out []watcher.Rule
	add := func(src, dest string, destDir bool, action watcher.Action, why, chown, chmod string) {
		out = append(out, watcher.Rule{
			Source: cleanSource(src), Dest: dest, DestDir: destDir, Action: action,
			Line: st.Line, Step: st.Text, Why: why, Chown: chown, Chmod: chmod,
		})
	}
	switch c := st.cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return nil // from another stage or image: no host file
		}
		dest, destDir := m.dest(c.SourcesAndDest, workdir)
		for _, src := range c.SourcePaths {
			add(src, dest, destDir, 0, "", c.Chown, c.Chmod)
		}
	case *instructions.AddCommand:
		dest, destDir := m.dest(c.SourcesAndDest, workdir)
		for _, src := range c.SourcePaths {
			switch {
			case isRemote(src):
				continue // fetched by the builder, not read from the host
			case isArchive(src) && (c.Unpack == nil || *c.Unpack):
				add(src, dest, destDir, watcher.Rebuild, "ADD extracts this archive, so its files are never synced as they are", c.Chown, c.Chmod)
			default:
				add(src, dest, destDir, 0, "", c.Chown, c.Chmod)
			}
		}
	case *instructions.RunCommand:
		for _, mnt := range instructions.GetMounts(c) {
			if mnt.Type != instructions.MountTypeBind || mnt.From != "" {
				continue
			}
			add(mnt.Source, resolve(workdir, mnt.Target), true, watcher.Rebuild,
				"it is bind-mounted into this RUN", "", "")
		}
	}
	return out
}

// dest resolves a COPY/ADD destination against the working directory, and
// says whether sources are copied into it as a directory.
func (m *Model) dest(sd instructions.SourcesAndDest, workdir string) (string, bool) {
	d := sd.DestPath
	destDir := strings.HasSuffix(d, "/") || d == "." || d == ".." || strings.HasSuffix(d, "/.") ||
		len(sd.SourcePaths)+len(sd.SourceContents) > 1
	for _, s := range sd.SourcePaths {
		if strings.ContainsAny(s, "*?[") {
			destDir = true
		}
	}
	return resolve(workdir, d), destDir
}

// usedStages marks the target stage and every stage it builds on or copies
// from, directly or not; BuildKit builds nothing else.
func (m *Model) usedStages() []bool {
	used := make([]bool, len(m.Stages))
	var visit func(i int)
	visit = func(i int) {
		if i < 0 || used[i] {
			return
		}
		used[i] = true
		s := m.Stages[i]
		visit(s.BaseStage)
		for _, st := range s.Steps {
			switch c := st.cmd.(type) {
			case *instructions.CopyCommand:
				if c.From != "" {
					visit(m.stageIndexBefore(c.From, i))
				}
			case *instructions.RunCommand:
				for _, mnt := range instructions.GetMounts(c) {
					if mnt.From != "" {
						visit(m.stageIndexBefore(mnt.From, i))
					}
				}
			}
		}
	}
	visit(m.Target)
	return used
}

func (m *Model) stageIndexBefore(name string, i int) int {
	if j := m.stageIndex(name); j < i {
		return j
	}
	return -1
}

// stageStartWorkdir is the working directory a stage starts with.
func (m *Model) stageStartWorkdir(i int) string {
	s := m.Stages[i]
	if s.BaseStage >= 0 {
		return m.Stages[s.BaseStage].workdir
	}
	if m.opts.BaseWorkdir != nil {
		if wd := m.opts.BaseWorkdir(s.Base); wd != "" {
			return wd
		}
	}
	return "/"
}

func (m *Model) stageLabel(i int) string {
	if n := m.Stages[i].Name; n != "" {
		return fmt.Sprintf("%q", n)
	}
	return fmt.Sprint(i)
}

// resolve makes a container path absolute against a working directory.
func resolve(workdir, p string) string {
	if p == "" {
		return workdir
	}
	if !path.IsAbs(p) {
		p = path.Join(workdir, p)
	}
	return path.Clean(p)
}

// cleanSource makes a COPY source context-relative: Docker treats "/x" and
// "x" alike and never reads above the context.
func cleanSource(s string) string {
	s = path.Clean("/" + s)
	s = strings.TrimPrefix(s, "/")
	if s == "" {
		return "."
	}
	return s
}

func isRemote(src string) bool {
	for _, p := range []string{"http://", "https://", "git@", "git://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

// isArchive reports whether ADD would extract src. Docker decides from the
// content; tfdev decides from the name, before the file is read.
func isArchive(src string) bool {
	s := strings.ToLower(src)
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}
