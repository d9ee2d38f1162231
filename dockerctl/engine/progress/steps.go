package progress

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// stepTracker turns either builder's progress into StepProgress events.
type Tracker struct {
	Exporting func(started bool)
	Loaded    func() // BuildKit has the context, called once
	Pull      func(model.PullProgress)
	Pulling   Layers
	ctxVertex string         // the digest of BuildKit's "load build context"
	exported  map[string]int // exporter vertex digest -> 1 started, 2 completed
	model     *dockerfile.Model
	All       []dockerfile.Step
	progress  func(model.StepProgress)
	byIndex   map[int]*model.StepProgress
	order     []int
	digests   map[string]int // BuildKit vertex digest -> step index
	started   map[int]time.Time
	// legacy stream state
	partial string
	Current int  // index of the step the legacy builder is on
	usedC   bool // the current legacy step said "Using cache"
}

func NewTracker(m *dockerfile.Model, progress func(model.StepProgress)) *Tracker {
	return &Tracker{
		model: m, All: m.AllSteps(), progress: progress,
		byIndex: map[int]*model.StepProgress{}, digests: map[string]int{}, started: map[int]time.Time{},
	}
}

func (t *Tracker) set(idx int, state model.StepState, d time.Duration) {
	if idx < 1 || idx > len(t.All) {
		return
	}
	sp, ok := t.byIndex[idx]
	if !ok {
		st := t.All[idx-1]
		sp = &model.StepProgress{Index: idx, Total: len(t.All), Line: st.Line, Instruction: st.Text}
		t.byIndex[idx] = sp
		t.order = append(t.order, idx)
	}
	if sp.State == state && d == 0 {
		return
	}
	sp.State, sp.At = state, time.Now()
	if d > 0 {
		sp.Duration = d
	}
	if t.progress != nil {
		cp := *sp
		cp.Log = append([]string(nil), sp.Log...)
		t.progress(cp)
	}
}

func (t *Tracker) log(idx int, text string) {
	sp, ok := t.byIndex[idx]
	if !ok {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		sp.Log = append(sp.Log, colour.ReplaceAllString(strings.TrimRight(l, "\r"), ""))
	}
	if len(sp.Log) > model.LogLines {
		sp.Log = sp.Log[len(sp.Log)-model.LogLines:]
	}
}

func (t *Tracker) Steps() []model.StepProgress {
	out := make([]model.StepProgress, 0, len(t.order))
	for _, i := range t.order {
		out = append(out, *t.byIndex[i])
	}
	return out
}

// vertexName reads "[3/5] RUN ...", "[stage-1 3/5] RUN ..." and, past
// nine steps, the padded "[ 3/12] RUN ..." and "[stage-1  3/12] RUN ...".
// colour is a terminal colour escape, as the legacy builder wraps a
// step's standard error in.
var colour = regexp.MustCompile("\x1b\\[[0-9;]*m")

var vertexName = regexp.MustCompile(`^\[(?:(\S+)\s+)?\s*(\d+)/(\d+)\] (.*)$`)

// vertexStep maps a BuildKit vertex name such as "[stage-1 3/5] RUN ..." to
// the step's index among all instructions, or 0 for internal vertexes.
func (t *Tracker) vertexStep(name string) int {
	m := vertexName.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[2]) // the pattern matched digits
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

func (t *Tracker) indexOf(st dockerfile.Step) int {
	for i, s := range t.All {
		if s.Line == st.Line && s.Stage == st.Stage {
			return i + 1
		}
	}
	return 0
}

func (t *Tracker) Trace(st Status) {
	for _, v := range st.Vertexes {
		idx, ok := t.digests[v.Digest]
		if !ok {
			idx = t.vertexStep(v.Name)
			t.digests[v.Digest] = idx
		}
		if idx == 0 {
			t.exporter(v)
			t.contextLoaded(v)
			continue
		}
		kind := t.All[idx-1].Kind
		switch {
		case v.Error != "":
			t.set(idx, model.StepFailed, dur(v))
		case !v.Completed.IsZero() && (v.Cached || kind == "FROM"):
			t.set(idx, model.StepCached, 0) // a FROM of a present image builds nothing
		case !v.Completed.IsZero():
			t.set(idx, model.StepDone, dur(v))
		case !v.Started.IsZero():
			t.set(idx, model.StepRunning, 0)
		default:
			// announced, not started: nothing to say yet
		}
	}
	for _, l := range st.Logs {
		if idx := t.digests[l.Vertex]; idx > 0 {
			t.log(idx, string(l.Msg))
		}
	}
	for _, p := range st.Statuses {
		t.pullStatus(p)
	}
}

// pullStatus reports a FROM step's download (BuildKit's statuses under the
// FROM vertex: a blob's digest, bytes done and in all). The blobs are the
// image's manifest and config, and its layers that the Engine lacks.
func (t *Tracker) pullStatus(p VertexStatus) {
	idx := t.digests[p.Vertex]
	if t.Pull == nil || idx == 0 || t.All[idx-1].Kind != "FROM" || p.Total <= 0 || !strings.HasPrefix(p.ID, "sha256:") {
		return // not a download: a resolve, an extraction
	}
	t.Pull(model.PullProgress{Step: idx, Image: t.All[idx-1].Text, Layer: p.ID, Current: p.Current, Total: p.Total, Done: !p.Completed.IsZero()})
}

func dur(v Vertex) time.Duration {
	if v.Started.IsZero() || v.Completed.IsZero() {
		return 0
	}
	return v.Completed.Sub(v.Started)
}

// legacyStep is a step of the legacy builder ("Step 3/7 : RUN ..."),
// numbered across the Dockerfile, or of Buildah, Podman's builder ("STEP
// 2/5: RUN ...", after "[2/3] " in a multi-stage build), numbered within
// its stage.
var legacyStep = regexp.MustCompile(`^(?:Step (\d+)/\d+ : |(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: )`)

// stepOf maps a legacyStep match to the step's index in All (0: none of
// the Dockerfile's own, such as the LABEL step either builder adds for
// --label).
func (t *Tracker) stepOf(m []string) int {
	if m[1] != "" {
		n, _ := strconv.Atoi(m[1]) // the pattern matched digits
		if n > len(t.All) {
			return 0
		}
		return n
	}
	stage, n := 1, 0
	if m[2] != "" {
		stage, _ = strconv.Atoi(m[2])
	}
	n, _ = strconv.Atoi(m[3])
	for i, st := range t.All {
		if st.Stage == stage-1 {
			if n--; n == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// stream reads the legacy builder's output, which arrives in pieces.
func (t *Tracker) Stream(s string) {
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

func (t *Tracker) legacyLine(line string) {
	if m := legacyStep.FindStringSubmatch(line); m != nil {
		t.completeLegacy()
		if t.Current = t.stepOf(m); t.Current == 0 {
			return
		}
		t.usedC = false
		t.started[t.Current] = time.Now()
		t.set(t.Current, model.StepRunning, 0)
		return
	}
	switch {
	case t.Current == 0 || line == "":
	case strings.HasPrefix(line, " ---> Using cache"), strings.HasPrefix(line, "--> Using cache"):
		t.usedC = true
	case strings.HasPrefix(line, " ---> "), strings.HasPrefix(line, "--> "), strings.HasPrefix(line, "Removing intermediate container"),
		strings.HasPrefix(line, "Successfully built"), strings.HasPrefix(line, "Successfully tagged"), buildahCommit.MatchString(line):
	default:
		t.log(t.Current, line)
	}
}

// completeLegacy closes the step the legacy builder was on.
func (t *Tracker) completeLegacy() {
	if t.Current == 0 {
		return
	}
	kind := t.All[t.Current-1].Kind
	st := t.All[t.Current-1]
	if t.usedC || kind == "FROM" || st.Stage < 0 {
		t.set(t.Current, model.StepCached, 0) // FROM and global ARGs build nothing
	} else {
		t.set(t.Current, model.StepDone, time.Since(t.started[t.Current]))
	}
	t.Current = 0
}

// finish closes the last legacy step at the end of a good build.
func (t *Tracker) Finish() {
	if t.partial != "" {
		t.legacyLine(t.partial)
		t.partial = ""
	}
	t.completeLegacy()
}

// buildahCommit is Buildah's commit of a stage ("[2/2] COMMIT name", or
// "COMMIT name" alone).
var buildahCommit = regexp.MustCompile(`^(?:\[\d+/\d+\] )?COMMIT\b`)

var exitCode = regexp.MustCompile(`(?:exit code: |returned a non-zero code: |while running runtime: exit status )(\d+)`)

// fail turns the build's error message into a BuildError naming the step.
func (t *Tracker) Fail(msg string) error {
	if t.partial != "" {
		t.legacyLine(t.partial)
		t.partial = ""
	}
	idx := t.Current
	if idx == 0 {
		for _, i := range t.order {
			if t.byIndex[i].State == model.StepFailed || t.byIndex[i].State == model.StepRunning {
				idx = i
			}
		}
	}
	be := &model.BuildError{File: t.model.Name, ExitCode: -1, Msg: strings.TrimSpace(msg)}
	if m := exitCode.FindStringSubmatch(msg); m != nil {
		be.ExitCode, _ = strconv.Atoi(m[1]) // the pattern matched digits
	}
	if idx > 0 {
		st := t.All[idx-1]
		be.Line, be.Instruction = st.Line, st.Text
		if sp := t.byIndex[idx]; sp != nil {
			be.Log = append([]string(nil), sp.Log...)
		}
		t.set(idx, model.StepFailed, 0)
		t.Current = 0
	}
	return be
}

// contextLoaded hears when BuildKit has read the build context.
func (t *Tracker) contextLoaded(v Vertex) {
	if v.Name == "[internal] load build context" {
		t.ctxVertex = v.Digest // its later pieces may come without the name
	}
	if t.Loaded != nil && v.Digest == t.ctxVertex && t.ctxVertex != "" && !v.Completed.IsZero() {
		t.Loaded()
		t.Loaded = nil
	}
}

// exporter follows BuildKit's exporter vertexes ("exporting to image").
func (t *Tracker) exporter(v Vertex) {
	if t.Exporting == nil || !strings.HasPrefix(v.Name, "exporting") {
		return
	}
	if t.exported == nil {
		t.exported = map[string]int{}
	}
	switch state := t.exported[v.Digest]; {
	case !v.Completed.IsZero() && state < 2:
		if state == 0 {
			t.Exporting(true)
		}
		t.exported[v.Digest] = 2
		t.Exporting(false)
	case !v.Started.IsZero() && state == 0:
		t.exported[v.Digest] = 1
		t.Exporting(true)
	}
}
