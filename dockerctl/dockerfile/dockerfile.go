// Package dockerfile is tfdev's model of a project's Dockerfile: its stages
// and steps, and the rules that say which host paths each step reads and what
// a change to them costs. It is pure: it parses with BuildKit's own parser and
// never talks to the Engine.
//
//	m, err := dockerfile.Parse(src, dockerfile.Options{Name: "Dockerfile"})
//	rules := m.Rules(ignore, triggers)
//	plan := watcher.Classify(batch, rules)
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Options say how the Dockerfile will be built.
type Options struct {
	Name      string            // file name for messages, e.g. "Dockerfile"
	BuildArgs map[string]string // --build-arg values
	Target    string            // --target stage; "" builds the last stage
	// BaseWorkdir returns the working directory an external base image sets,
	// which relative COPY destinations resolve against before any WORKDIR.
	// nil means "/".
	BaseWorkdir func(image string) string

	// Mounts are sync mappings from a compose file or devcontainer.json (a
	// bind mount of a project folder).
	Mounts []watcher.Rule
	// Workspace is where the project syncs when the Dockerfile copies no
	// source and no mount covers it (a devcontainer's workspaceFolder); ""
	// lets Load choose: ServedDir's answer, else the final WORKDIR.
	Workspace string
	// ServedDir finds the folder the container's Jupyter serves (a compose
	// command, the Dockerfile's CMD, the base image's); nil or "": unknown.
	ServedDir func(m *Model) string
}

// SyntaxError is a Dockerfile that BuildKit would refuse.
type SyntaxError struct {
	File string
	Line int // 0 when the parser gave none
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Step is one instruction of the Dockerfile.
type Step struct {
	Stage int    // index of its stage
	Line  int    // first line
	Kind  string // upper-case instruction: FROM, RUN, COPY...
	Text  string // the instruction on one line
	cmd   instructions.Command
}

func (s Step) String() string { return s.Text }

// Command is the parsed instruction (nil for a global ARG's step).
func (s Step) Command() instructions.Command { return s.cmd }

// Stage is a FROM and the steps under it.
type Stage struct {
	Name  string // AS name, lower-case; "" when unnamed
	Base  string // expanded FROM argument
	Line  int
	Steps []Step // the FROM first
	// BaseStage is the index of the stage this one is built FROM, or -1.
	BaseStage int
	workdir   string
	env       []string // "K=V" visible in the stage, ARGs and ENVs
}

// Model is a parsed Dockerfile.
type Model struct {
	Name     string
	MetaArgs []Step // ARGs before the first FROM
	Stages   []Stage
	Target   int // index of the stage that is built and run
	opts     Options
	escape   rune
	global   map[string]string // global ARG values
}

// AllSteps lists every instruction in file order, global ARGs first: the
// numbering of the legacy builder's "Step N/M".
func (m *Model) AllSteps() []Step {
	out := append([]Step(nil), m.MetaArgs...)
	for _, s := range m.Stages {
		out = append(out, s.Steps...)
	}
	return out
}

// Label is how BuildKit names the stage in its progress: the AS name, or
// "stage-N".
func (s *Stage) Label(i int) string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("stage-%d", i)
}

// OpSteps lists the steps of a stage that BuildKit numbers "[N/M]" in its
// progress: those that make a filesystem layer (FROM, RUN, COPY, ADD,
// WORKDIR), not metadata such as ENV or CMD.
func (s *Stage) OpSteps() []Step {
	var out []Step
	for _, st := range s.Steps {
		switch st.Kind {
		case "FROM", "RUN", "COPY", "ADD", "WORKDIR":
			out = append(out, st)
		}
	}
	return out
}

// TargetStage is the stage whose container tfdev runs.
func (m *Model) TargetStage() *Stage { return &m.Stages[m.Target] }

// Parse reads a Dockerfile. Errors that are the Dockerfile's fault are
// *SyntaxError with the line.
func Parse(r io.Reader, opts Options) (*Model, error) {
	if opts.Name == "" {
		opts.Name = "Dockerfile"
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, syntaxError(opts.Name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, syntaxError(opts.Name, err)
	}
	if len(stages) == 0 {
		return nil, &SyntaxError{File: opts.Name, Msg: "no FROM instruction: the file has no build stage"}
	}
	m := &Model{Name: opts.Name, opts: opts, escape: res.EscapeToken}
	lex := shell.NewLex(res.EscapeToken)
	var globalEnv []string
	m.global, globalEnv, err = m.metaArgs(metaArgs, lex)
	if err != nil {
		return nil, err
	}
	for i := range stages {
		s, err := m.stage(i, &stages[i], globalEnv, lex)
		if err != nil {
			return nil, err
		}
		m.Stages = append(m.Stages, s)
	}
	m.Target = len(m.Stages) - 1
	if opts.Target != "" {
		m.Target = m.stageIndex(opts.Target)
		if m.Target < 0 {
			return nil, &SyntaxError{File: opts.Name, Msg: fmt.Sprintf("target stage %q not found", opts.Target)}
		}
	}
	return m, nil
}

// metaArgs reads the global ARGs, before the first FROM: usable in FROM
// lines and, when redeclared, inside stages.
func (m *Model) metaArgs(args []instructions.ArgCommand, lex *shell.Lex) (map[string]string, []string, error) {
	global := map[string]string{}
	var globalEnv []string
	for _, a := range args {
		m.MetaArgs = append(m.MetaArgs, Step{Stage: -1, Line: line(a.Location()), Kind: "ARG", Text: oneLine(a.String())})
		for _, kv := range a.Args {
			v, ok := m.opts.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				var err error
				v, _, err = lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(globalEnv))
				if err != nil {
					return nil, nil, &SyntaxError{File: m.Name, Line: line(a.Location()), Msg: err.Error()}
				}
				ok = true
			}
			if ok {
				global[kv.Key] = v
				globalEnv = setEnv(globalEnv, kv.Key, v)
			}
		}
	}
	return global, globalEnv, nil
}

// stage reads stage i: its base (an earlier stage, or an image whose
// working directory the options know) and its steps.
func (m *Model) stage(i int, st *instructions.Stage, globalEnv []string, lex *shell.Lex) (Stage, error) {
	base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(globalEnv))
	if err != nil {
		return Stage{}, &SyntaxError{File: m.Name, Line: line(st.Location), Msg: err.Error()}
	}
	s := Stage{Name: strings.ToLower(st.Name), Base: base, Line: line(st.Location), BaseStage: -1, workdir: "/"}
	if j := m.stageIndex(base); j >= 0 && j < i {
		s.BaseStage = j
		s.workdir = m.Stages[j].workdir
		s.env = append([]string(nil), m.Stages[j].env...)
	} else if m.opts.BaseWorkdir != nil {
		if wd := m.opts.BaseWorkdir(base); wd != "" {
			s.workdir = wd
		}
	}
	s.Steps = append(s.Steps, Step{Stage: i, Line: s.Line, Kind: "FROM", Text: oneLine(st.SourceCode)})
	for _, c := range st.Commands {
		if err := m.expand(c, &s, lex); err != nil {
			return Stage{}, &SyntaxError{File: m.Name, Line: line(c.Location()), Msg: err.Error()}
		}
		s.Steps = append(s.Steps, Step{Stage: i, Line: line(c.Location()), Kind: strings.ToUpper(c.Name()), Text: oneLine(fmt.Sprint(c)), cmd: c})
	}
	return s, nil
}

// expand substitutes ARG and ENV values into a command, as BuildKit does,
// and tracks the stage's variables and working directory.
func (m *Model) expand(c instructions.Command, s *Stage, lex *shell.Lex) error {
	word := func(w string) (string, error) {
		v, _, err := lex.ProcessWord(w, shell.EnvsFromSlice(s.env))
		return v, err
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(word); err != nil {
			return err
		}
	}
	s.env, s.workdir = m.track(s.env, s.workdir, c)
	return nil
}

// track moves a stage's variables and working directory past c, as
// BuildKit does: an ARG takes its --build-arg value, else its default,
// else the global ARG's.
func (m *Model) track(env []string, workdir string, c instructions.Command) ([]string, string) {
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := m.opts.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				v, ok = *kv.Value, true
			}
			if !ok {
				v, ok = m.global[kv.Key]
			}
			if ok {
				env = setEnv(env, kv.Key, v)
			}
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			env = setEnv(env, kv.Key, kv.Value)
		}
	case *instructions.WorkdirCommand:
		workdir = resolve(workdir, c.Path)
	}
	return env, workdir
}

// stageIndex finds a stage by name or index, as FROM and COPY --from do.
func (m *Model) stageIndex(name string) int {
	name = strings.ToLower(name)
	for i, s := range m.Stages {
		if s.Name != "" && s.Name == name {
			return i
		}
	}
	var n int
	if _, err := fmt.Sscanf(name, "%d", &n); err == nil && fmt.Sprint(n) == name && n < len(m.Stages) {
		return n
	}
	return -1
}

func setEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

var spaces = regexp.MustCompile(`\s*\\?\r?\n\s*|\s+`)

// oneLine folds a multi-line instruction (continuations, heredocs) onto one line.
func oneLine(s string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

func syntaxError(name string, err error) error {
	se := &SyntaxError{File: name, Msg: err.Error()}
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		se.Line = le.Locations[0][0].Start.Line
		se.Msg = le.Unwrap().Error()
	}
	// instructions wraps errors as "dockerfile parse error on line N: msg".
	se.Msg = strings.TrimSpace(regexp.MustCompile(`^dockerfile parse error on line \d+: `).ReplaceAllString(se.Msg, ""))
	return se
}
