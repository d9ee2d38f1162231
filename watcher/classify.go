package watcher

import (
	"fmt"
	"path"
	"strings"
)

// Action is what a change to a path costs.
type Action int

const (
	Ignore  Action = iota // nothing: not in the context, or no step reads it
	Sync                  // copy into the running container, no build
	Rebuild               // cached image rebuild, then replace the container
)

func (a Action) String() string {
	switch a {
	case Sync:
		return "sync"
	case Rebuild:
		return "rebuild"
	default:
		return "ignore"
	}
}

// MarshalText makes an Action print as its word in JSON.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Rule says what a Dockerfile step does with a host path: the step reads
// Source (context-relative; "." for the whole context; may hold a glob) and
// puts it at Dest in the image.
type Rule struct {
	Source string
	Dest   string // absolute container path
	// DestDir: Dest is a directory that sources are copied into, as with a
	// trailing slash, several sources, a glob or a directory source.
	DestDir bool
	Action  Action // Sync or Rebuild
	Line    int    // Dockerfile line of the step
	Step    string // the step as written, on one line
	Why     string // why the step has that action, for explain
	Chown   string // --chown of the step, for synced files
	Chmod   string
	// File is the file that made the rule when it is not the Dockerfile: a
	// compose file's bind mount (compose.yaml, with Line and Step); "" for
	// the Dockerfile, and for the workspace rule (Line 0, Why says it).
	File string
}

// Rules are what the Dockerfile and ignore files say about every path.
// They are plain data, made by the Dockerfile model (dockerctl/dockerfile).
type Rules struct {
	Dockerfile string   // name of the Dockerfile, for messages
	Always     []string // context-relative paths that always mean a rebuild
	Steps      []Rule   // in Dockerfile order: the earliest step that reads a path decides
	// Mounts are sync mappings that are not Dockerfile steps: a compose or
	// dev container bind mount of a project folder, or the workspace the
	// project syncs into when the Dockerfile copies no source. They sync
	// every path they cover that no Dockerfile step rebuilds; the first
	// that covers a path decides.
	Mounts   []Rule
	Ignore   *DockerIgnore
	Triggers *TriggerFilter // .tfdevignore and editors' temp files; nil: none
}

// WatchRules makes Rules a Loaded of its own.
func (r Rules) WatchRules() Rules { return r }

// Op is what happened to a path.
type Op int

const (
	Changed     Op = iota // created, written, or renamed onto (and perhaps chmod-ed)
	Removed               // deleted or renamed away
	ModeChanged           // only its permissions changed, as far as the events say
)

func (o Op) String() string {
	switch o {
	case Removed:
		return "removed"
	case ModeChanged:
		return "mode changed"
	}
	return "changed"
}

// Change is one path of a batch, relative to the context root, slash-separated.
type Change struct {
	Path  string
	Op    Op
	IsDir bool
}

// Decision is what a change to one path means, and why.
type Decision struct {
	Path   string `json:"path"`
	Action Action `json:"action"`
	Dest   string `json:"dest,omitempty"` // container path, for Sync
	Line   int    `json:"line"`           // Dockerfile line of the deciding step, or .dockerignore line; 0 when none
	File   string `json:"file,omitempty"` // the file Line is in
	Reason string `json:"reason"`
	Rule   *Rule  `json:"-"`
}

// SyncItem is one path to copy into, or remove from, the container.
type SyncItem struct {
	Change
	Dest string
	Rule *Rule
}

// Plan is what a batch asks for. Executing it is someone else's job.
type Plan struct {
	Sync    []SyncItem
	Rebuild []Decision // non-empty: the image must be rebuilt
	Ignored []Decision
}

// NeedsRebuild reports whether the batch calls for an image build.
func (p Plan) NeedsRebuild() bool { return len(p.Rebuild) > 0 }

// Classify decides, for every change of a batch, whether it is synced,
// rebuilt or ignored. It is pure: it reads no file.
func Classify(batch []Change, rules Rules) Plan {
	var p Plan
	for _, c := range batch {
		ds := DecideAll(c.Path, c.IsDir, rules)
		d := ds[0]
		switch d.Action {
		case Sync:
			for _, d := range ds {
				p.Sync = append(p.Sync, SyncItem{Change: c, Dest: d.Dest, Rule: d.Rule})
			}
		case Rebuild:
			p.Rebuild = append(p.Rebuild, d)
		default:
			p.Ignored = append(p.Ignored, d)
		}
	}
	return p
}

// DecideAll is Decide, and for a path that a mount syncs, also each later
// mount that covers it: compose's `.:/work` and `./images:/data/images`
// both show images/cat.png in the container, so a sync puts it in both.
func DecideAll(p string, isDir bool, rules Rules) []Decision {
	d := Decide(p, isDir, rules)
	out := []Decision{d}
	if d.Action != Sync || d.Rule == nil {
		return out
	}
	first := -1
	for i := range rules.Mounts {
		if &rules.Mounts[i] == d.Rule {
			first = i
		}
	}
	if first < 0 {
		return out
	}
	for i := first + 1; i < len(rules.Mounts); i++ {
		if dest, ok := rules.Mounts[i].match(cleanRel(p), isDir); ok && dest != d.Dest {
			out = append(out, decided(Decision{Path: d.Path}, &rules.Mounts[i], dest, rules.Mounts[i].File))
		}
	}
	return out
}

// Decide says what a change to the context-relative path p would do.
func Decide(p string, isDir bool, rules Rules) Decision {
	if strings.HasPrefix(path.Clean(p), "../") || path.IsAbs(p) || p == ".." {
		return Decision{Path: p, Action: Ignore, Reason: "outside the build context"}
	}
	p = cleanRel(p)
	d := Decision{Path: p}
	for _, a := range rules.Always {
		if p == a {
			d.Action, d.Reason = Rebuild, a+" changed: every step may differ"
			return d
		}
	}
	if rules.Triggers != nil {
		if why := rules.Triggers.Why(p, isDir); why != "" {
			d.Reason = why
			return d
		}
	}
	if di := rules.Ignore; di.Excluded(p, isDir) {
		d.Reason = "excluded from the build context"
		if i := di.Why(p, isDir); i >= 0 {
			d.Line, d.File = di.Lines[i], di.File
			d.Reason = fmt.Sprintf("excluded by %s:%d (%s)", di.File, di.Lines[i], di.Patterns[i])
		}
		return d
	}
	var step *Rule
	var stepDest string
	for i := range rules.Steps {
		if dest, ok := rules.Steps[i].match(p, isDir); ok {
			step, stepDest = &rules.Steps[i], dest
			break
		}
	}
	if step != nil && step.Action == Rebuild {
		return decided(d, step, stepDest, rules.Dockerfile)
	}
	for i := range rules.Mounts {
		if dest, ok := rules.Mounts[i].match(p, isDir); ok {
			return decided(d, &rules.Mounts[i], dest, rules.Mounts[i].File)
		}
	}
	if step != nil {
		return decided(d, step, stepDest, rules.Dockerfile)
	}
	d.Reason = "in the build context, but no COPY or ADD step reads it"
	return d
}

// decided is d as rule r decides it.
func decided(d Decision, r *Rule, dest, file string) Decision {
	d.Action, d.Line, d.File, d.Rule = r.Action, r.Line, file, r
	d.Reason = r.Why
	if r.Action == Sync {
		d.Dest = dest
	}
	return d
}

// match reports whether the step reads p, and where p lands in the image.
// A directory p also matches a step whose source lies inside it, since
// removing or renaming the directory changes that source.
func (r *Rule) match(p string, isDir bool) (string, bool) {
	src := cleanRel(r.Source)
	if src == "" {
		return path.Join(r.Dest, p), true
	}
	n := strings.Count(src, "/") + 1
	parts := strings.SplitN(p, "/", n+1)
	if len(parts) >= n {
		prefix := strings.Join(parts[:n], "/")
		if ok, _ := path.Match(src, prefix); ok || prefix == src {
			if prefix == p {
				if r.DestDir {
					return path.Join(r.Dest, path.Base(p)), true
				}
				return r.Dest, true
			}
			return path.Join(r.Dest, p[len(prefix)+1:]), true
		}
	}
	if isDir && strings.HasPrefix(src, p+"/") {
		if r.DestDir {
			return path.Join(r.Dest, path.Base(src)), true
		}
		return r.Dest, true
	}
	return "", false
}

// Target is where this step puts the context path p (a file) in the
// image, when the step reads it.
func (r *Rule) Target(p string) (string, bool) { return r.match(cleanRel(p), false) }

// source is match's inverse: the context path a file at container path p
// came from through this step, when the step is a plain (glob-free) copy.
func (r *Rule) source(p string) (string, bool) {
	if strings.ContainsAny(r.Source, "*?[") {
		return "", false
	}
	src := cleanRel(r.Source)
	if !r.DestDir && p == r.Dest {
		return src, src != ""
	}
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(r.Dest, "/")+"/")
	switch {
	case !ok:
		return "", false
	case src == "":
		return rel, true
	case rel == path.Base(src): // a file source copied into a directory lands at Dest/base
		return src, true
	}
	return path.Join(src, rel), true
}

// SyncDest is where a sync step puts the context path rel in the
// container, whatever decides about rel first: requirements.txt, a rebuild
// input, also lands in /tf through a trailing COPY . /tf.
func SyncDest(rel string, rules Rules) (string, bool) {
	for _, r := range rules.SyncRules() {
		if dest, ok := r.match(cleanRel(rel), false); ok {
			return dest, true
		}
	}
	return "", false
}

// HostPath maps a container path back to the context through the sync
// rules: the inverse of where Decide sends a context path.
func HostPath(p string, rules Rules) (string, bool) {
	for _, r := range rules.SyncRules() {
		if rel, ok := r.source(p); ok {
			return rel, true
		}
	}
	return "", false
}

// SyncRules are the rules that put host paths in the container: the
// mounts first, then the Dockerfile's sync steps.
func (r Rules) SyncRules() []*Rule {
	var out []*Rule
	for i := range r.Mounts {
		out = append(out, &r.Mounts[i])
	}
	for i := range r.Steps {
		if r.Steps[i].Action == Sync {
			out = append(out, &r.Steps[i])
		}
	}
	return out
}

// String renders a decision for people:
//
//	train.py  sync → /app/train.py  (Dockerfile:9 COPY . /app)
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.Path)
	b.WriteString("  ")
	b.WriteString(d.Action.String())
	if d.Action == Sync {
		b.WriteString(" → ")
		b.WriteString(d.Dest)
	}
	switch {
	case d.Rule != nil && d.Line > 0:
		fmt.Fprintf(&b, "  (%s:%d %s)", d.File, d.Line, d.Rule.Step)
		if d.Reason != "" {
			b.WriteString(": ")
			b.WriteString(d.Reason)
		}
	case d.Reason != "":
		b.WriteString("  (")
		b.WriteString(d.Reason)
		b.WriteString(")")
	}
	return b.String()
}
