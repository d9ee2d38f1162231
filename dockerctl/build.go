package dockerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Builder selects the Engine's image builder.
type Builder string

const (
	BuilderAuto     Builder = "auto"     // BuildKit, or legacy when the Engine refuses BuildKit
	BuilderBuildKit Builder = "buildkit" // build.BuilderBuildKit ("2")
	BuilderLegacy   Builder = "legacy"   // build.BuilderV1 ("1")
)

// StepState is where a Dockerfile step is in a build.
type StepState string

const (
	StepCached  StepState = "cached"
	StepRunning StepState = "running"
	StepDone    StepState = "done"
	StepFailed  StepState = "failed"
)

// StepProgress is one step's progress, the same for both builders.
type StepProgress struct {
	Index       int    // 1-based position among the Dockerfile's instructions (global ARGs count, as in the legacy "Step N/M")
	Total       int    // number of instructions
	Line        int    // Dockerfile line
	Instruction string // the instruction on one line
	State       StepState
	Duration    time.Duration
	Log         []string // the step's last output lines
}

func (p StepProgress) String() string {
	return fmt.Sprintf("step %d/%d %s ... %s", p.Index, p.Total, p.Instruction, p.State)
}

// BuildOptions say what to build and how.
type BuildOptions struct {
	Project   *dockerfile.Project
	Tags      []string
	BuildArgs map[string]string
	Target    string
	CacheFrom []string
	Labels    map[string]string
	Builder   Builder
	NoCache   bool // build every step again (for comparisons)
	// Progress, when set, is called from the building goroutine on every
	// change of a step's state.
	Progress func(StepProgress)
}

// BuildResult is a finished build.
type BuildResult struct {
	ImageID  string
	Builder  Builder // the builder that ran
	Steps    []StepProgress
	Duration time.Duration
	Context  []string // the context paths (files and links) the image was built from
	// ContextSums holds the SHA-256 of every regular file of Context.
	ContextSums map[string]string
}

// SeedLedger records in the ledger what the image holds at each synced
// path, as built from the context: a later rescue then knows whether a
// file in the container was changed there.
func (r *BuildResult) SeedLedger(l *Ledger, rules watcher.Rules) {
	for rel, sum := range r.ContextSums {
		if d := watcher.Decide(rel, false, rules); d.Action == watcher.Sync {
			l.set(path.Clean(d.Dest), sum)
		}
	}
}

// BuildError is a build that failed at a Dockerfile step.
type BuildError struct {
	File        string
	Line        int // 0 when the failing step is unknown
	Instruction string
	ExitCode    int // -1 when the failure was not a command's exit
	Msg         string
	Log         []string // the failing step's last output lines
}

func (e *BuildError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Detail())
	}
	return fmt.Sprintf("%s: %s", e.File, e.Detail())
}

// Detail is the error without its location: "RUN ...: exit code 1".
func (e *BuildError) Detail() string {
	what := e.Msg
	if e.ExitCode >= 0 {
		what = fmt.Sprintf("exit code %d", e.ExitCode)
	}
	if e.Line > 0 {
		return e.Instruction + ": " + what
	}
	return what
}

// logLines is how many output lines a step keeps.
const logLines = 10

// Build builds the project's image through the Engine API: the context tar
// is exactly the files `tfdev context` lists, Version is always set, and
// intermediate containers are removed.
func (e *Engine) Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	p := opts.Project
	if p == nil {
		return nil, errors.New("build: no project")
	}
	builder := opts.Builder
	if builder == "" {
		builder = BuilderAuto
	}
	start := time.Now()
	try := BuilderBuildKit
	if builder == BuilderLegacy {
		try = BuilderLegacy
	}
	res, err := e.build(ctx, opts, try)
	if err != nil && builder == BuilderAuto && try == BuilderBuildKit && refusedBuildKit(err) {
		res, err = e.build(ctx, opts, BuilderLegacy)
	}
	if res != nil {
		res.Duration = time.Since(start)
	}
	return res, err
}

// refusedBuildKit: the Engine cannot run BuildKit builds (too old, or
// disabled) and said so before building anything.
func refusedBuildKit(err error) bool {
	var be *BuildError
	if errors.As(err, &be) {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "buildkit") && (strings.Contains(s, "not supported") || strings.Contains(s, "not enabled") || strings.Contains(s, "unsupported"))
}

func (e *Engine) build(ctx context.Context, opts BuildOptions, builder Builder) (*BuildResult, error) {
	p := opts.Project
	dfRel, err := filepath.Rel(p.Dir, p.DockerfilePath)
	if err != nil || strings.HasPrefix(dfRel, "..") {
		return nil, fmt.Errorf("the Dockerfile %s must be inside the project directory %s", p.DockerfilePath, p.Dir)
	}
	dfRel = filepath.ToSlash(dfRel)
	extra := []string{dfRel}
	if builder == BuilderLegacy {
		// The legacy builder reads .dockerignore itself only to drop an
		// excluded Dockerfile and .dockerignore after reading them.
		extra = append(extra, ".dockerignore")
	}
	body := newContextTar(ctx, p.Dir, p.Rules.Ignore, extra)
	defer body.Close()

	args := map[string]*string{}
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}
	version := build.BuilderBuildKit
	if builder == BuilderLegacy {
		version = build.BuilderV1
	}
	resp, err := e.API.ImageBuild(ctx, body, build.ImageBuildOptions{
		Version:     version,
		Remove:      true,
		ForceRemove: true,
		Dockerfile:  dfRel,
		Tags:        opts.Tags,
		BuildArgs:   args,
		Target:      opts.Target,
		CacheFrom:   opts.CacheFrom,
		Labels:      opts.Labels,
		NoCache:     opts.NoCache,
	})
	if err != nil {
		return nil, fmt.Errorf("starting the build on %s: %w", e.Host, err)
	}
	defer resp.Body.Close()

	t := newStepTracker(p.Model, opts.Progress)
	res := &BuildResult{Builder: builder}
	dec := json.NewDecoder(resp.Body)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("reading the build's progress: %w", err)
		}
		switch {
		case m.Error != nil:
			return nil, t.fail(m.Error.Message)
		case m.Aux != nil && m.ID == "moby.buildkit.trace":
			st, err := decodeTrace(*m.Aux)
			if err != nil {
				return nil, err
			}
			t.trace(st)
		case m.Aux != nil:
			var id struct{ ID string }
			if json.Unmarshal(*m.Aux, &id) == nil && id.ID != "" {
				res.ImageID = id.ID
			}
		case m.Stream != "":
			t.stream(m.Stream)
		}
	}
	t.finish()
	if res.ImageID == "" {
		return nil, fmt.Errorf("the build ended without an image ID")
	}
	res.Steps = t.steps()
	body.Close()
	<-body.done
	res.Context, res.ContextSums = body.sent, body.sums
	return res, nil
}

// stepTracker turns either builder's progress into StepProgress events.
type stepTracker struct {
	model    *dockerfile.Model
	all      []dockerfile.Step
	progress func(StepProgress)
	byIndex  map[int]*StepProgress
	order    []int
	digests  map[string]int // BuildKit vertex digest -> step index
	started  map[int]time.Time
	// legacy stream state
	partial string
	current int  // index of the step the legacy builder is on
	usedC   bool // the current legacy step said "Using cache"
}

func newStepTracker(m *dockerfile.Model, progress func(StepProgress)) *stepTracker {
	return &stepTracker{
		model: m, all: m.AllSteps(), progress: progress,
		byIndex: map[int]*StepProgress{}, digests: map[string]int{}, started: map[int]time.Time{},
	}
}

func (t *stepTracker) set(idx int, state StepState, d time.Duration) {
	if idx < 1 || idx > len(t.all) {
		return
	}
	sp, ok := t.byIndex[idx]
	if !ok {
		st := t.all[idx-1]
		sp = &StepProgress{Index: idx, Total: len(t.all), Line: st.Line, Instruction: st.Text}
		t.byIndex[idx] = sp
		t.order = append(t.order, idx)
	}
	if sp.State == state && d == 0 {
		return
	}
	sp.State = state
	if d > 0 {
		sp.Duration = d
	}
	if t.progress != nil {
		cp := *sp
		cp.Log = append([]string(nil), sp.Log...)
		t.progress(cp)
	}
}

func (t *stepTracker) log(idx int, text string) {
	sp, ok := t.byIndex[idx]
	if !ok {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		sp.Log = append(sp.Log, strings.TrimRight(l, "\r"))
	}
	if len(sp.Log) > logLines {
		sp.Log = sp.Log[len(sp.Log)-logLines:]
	}
}

func (t *stepTracker) steps() []StepProgress {
	out := make([]StepProgress, 0, len(t.order))
	for _, i := range t.order {
		out = append(out, *t.byIndex[i])
	}
	return out
}

var vertexName = regexp.MustCompile(`^\[(?:(\S+) )?(\d+)/(\d+)\] (.*)$`)

// vertexStep maps a BuildKit vertex name such as "[stage-1 3/5] RUN ..." to
// the step's index among all instructions, or 0 for internal vertexes.
func (t *stepTracker) vertexStep(name string) int {
	m := vertexName.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[2])
	for si := range t.model.Stages {
		s := &t.model.Stages[si]
		if m[1] != "" && s.Label(si) != m[1] {
			continue
		}
		if m[1] == "" && si != t.model.Target && len(t.model.Stages) > 1 {
			continue // unprefixed names belong to the target stage
		}
		ops := s.OpSteps()
		if n < 1 || n > len(ops) {
			continue
		}
		return t.indexOf(ops[n-1])
	}
	return 0
}

func (t *stepTracker) indexOf(st dockerfile.Step) int {
	for i, s := range t.all {
		if s.Line == st.Line && s.Stage == st.Stage {
			return i + 1
		}
	}
	return 0
}

func (t *stepTracker) trace(st traceStatus) {
	for _, v := range st.Vertexes {
		idx, ok := t.digests[v.Digest]
		if !ok {
			idx = t.vertexStep(v.Name)
			t.digests[v.Digest] = idx
		}
		if idx == 0 {
			continue
		}
		kind := t.all[idx-1].Kind
		switch {
		case v.Error != "":
			t.set(idx, StepFailed, dur(v))
		case !v.Completed.IsZero() && (v.Cached || kind == "FROM"):
			t.set(idx, StepCached, 0) // a FROM of a present image builds nothing
		case !v.Completed.IsZero():
			t.set(idx, StepDone, dur(v))
		case !v.Started.IsZero():
			t.set(idx, StepRunning, 0)
		default:
			// announced, not started: nothing to say yet
		}
	}
	for _, l := range st.Logs {
		if idx := t.digests[l.Vertex]; idx > 0 {
			t.log(idx, string(l.Msg))
		}
	}
}

func dur(v traceVertex) time.Duration {
	if v.Started.IsZero() || v.Completed.IsZero() {
		return 0
	}
	return v.Completed.Sub(v.Started)
}

var legacyStep = regexp.MustCompile(`^Step (\d+)/(\d+) : `)

// stream reads the legacy builder's output, which arrives in pieces.
func (t *stepTracker) stream(s string) {
	t.partial += s
	for {
		i := strings.IndexByte(t.partial, '\n')
		if i < 0 {
			// "Step N/M : ..." comes without its newline; take it whole.
			if legacyStep.MatchString(t.partial) {
				t.legacyLine(t.partial)
				t.partial = ""
			}
			return
		}
		line := t.partial[:i]
		t.partial = t.partial[i+1:]
		t.legacyLine(line)
	}
}

func (t *stepTracker) legacyLine(line string) {
	if m := legacyStep.FindStringSubmatch(line); m != nil {
		t.completeLegacy()
		t.current, _ = strconv.Atoi(m[1])
		t.usedC = false
		t.started[t.current] = time.Now()
		t.set(t.current, StepRunning, 0)
		return
	}
	switch {
	case t.current == 0 || line == "":
	case strings.HasPrefix(line, " ---> Using cache"):
		t.usedC = true
	case strings.HasPrefix(line, " ---> "), strings.HasPrefix(line, "Removing intermediate container"),
		strings.HasPrefix(line, "Successfully built"), strings.HasPrefix(line, "Successfully tagged"):
	default:
		t.log(t.current, line)
	}
}

// completeLegacy closes the step the legacy builder was on.
func (t *stepTracker) completeLegacy() {
	if t.current == 0 {
		return
	}
	kind := t.all[t.current-1].Kind
	st := t.all[t.current-1]
	if t.usedC || kind == "FROM" || st.Stage < 0 {
		t.set(t.current, StepCached, 0) // FROM and global ARGs build nothing
	} else {
		t.set(t.current, StepDone, time.Since(t.started[t.current]))
	}
	t.current = 0
}

// finish closes the last legacy step at the end of a good build.
func (t *stepTracker) finish() {
	if t.partial != "" {
		t.legacyLine(t.partial)
		t.partial = ""
	}
	t.completeLegacy()
}

var exitCode = regexp.MustCompile(`(?:exit code: |returned a non-zero code: )(\d+)`)

// fail turns the build's error message into a BuildError naming the step.
func (t *stepTracker) fail(msg string) error {
	if t.partial != "" {
		t.legacyLine(t.partial)
		t.partial = ""
	}
	idx := t.current
	if idx == 0 {
		for _, i := range t.order {
			if t.byIndex[i].State == StepFailed || t.byIndex[i].State == StepRunning {
				idx = i
			}
		}
	}
	be := &BuildError{File: t.model.Name, ExitCode: -1, Msg: strings.TrimSpace(msg)}
	if m := exitCode.FindStringSubmatch(msg); m != nil {
		be.ExitCode, _ = strconv.Atoi(m[1])
	}
	if idx > 0 {
		st := t.all[idx-1]
		be.Line, be.Instruction = st.Line, st.Text
		if sp := t.byIndex[idx]; sp != nil {
			be.Log = append([]string(nil), sp.Log...)
		}
		t.set(idx, StepFailed, 0)
		t.current = 0
	}
	return be
}
