package dockerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/doctor"
	"github.com/tfdev-dev/tfdev/watcher"
)

// SessionOptions configure `tfdev up`.
type SessionOptions struct {
	Dir          string
	Dockerfile   string
	BuildArgs    map[string]string
	Target       string
	Builder      Builder
	HostIP       string
	Port         int
	Token        string
	GPUs         string
	Keep         bool          // leave the container running at exit
	Quiet        time.Duration // watcher quiet window
	Ceiling      time.Duration // watcher ceiling
	ReadyTimeout time.Duration
	// Emit receives every event, one at a time.
	Emit func(Event)
}

// Request is something the user asks of a running session (a TUI key).
type Request int

const (
	RequestRebuild Request = iota // build now
	RequestResync                 // full reconcile
)

// Crash handling: a container that dies is restarted, unless it died this
// many times within the window.
const (
	maxDeaths   = 3
	deathWindow = time.Minute
)

// Session is the dev loop: build, run, watch, sync or rebuild.
type Session struct {
	eng  *Engine
	o    SessionOptions
	reqs chan Request

	emitMu sync.Mutex

	// Set by the watcher's reload (another goroutine), read by the loop.
	latest atomic.Pointer[dockerfile.Project]

	// Owned by the loop goroutine.
	project  *dockerfile.Project
	ledger   *Ledger
	cur      *Container
	built    *BuildResult
	gpu      GPUSupport
	building bool
	pending  []string // reasons for a follow-up build
	expected map[string]bool
	deaths   []time.Time
	halted   bool // crashed too often: not restarted until the next build
}

// NewSession prepares a session; Run starts it.
func NewSession(eng *Engine, o SessionOptions) *Session {
	if o.Emit == nil {
		o.Emit = func(Event) {}
	}
	if o.Builder == "" {
		o.Builder = BuilderAuto
	}
	return &Session{eng: eng, o: o, reqs: make(chan Request, 8), ledger: NewLedger(), expected: map[string]bool{}}
}

// Requests takes the user's requests (rebuild now, resync).
func (s *Session) Requests() chan<- Request { return s.reqs }

func (s *Session) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.o.Emit(e)
}

func (s *Session) info(format string, a ...any) {
	s.emit(Event{Kind: EvInfo, Message: fmt.Sprintf(format, a...)})
}

func (s *Session) fail(err error) {
	if errors.Is(err, context.Canceled) {
		return // shutting down: not the user's problem
	}
	s.emit(Event{Kind: EvError, Message: err.Error()})
}

// Load reads the project (Dockerfile, ignore files) with the base images'
// working directories from the Engine.
func (s *Session) Load(ctx context.Context) (*dockerfile.Project, error) {
	return dockerfile.Load(s.o.Dir, s.o.Dockerfile, dockerfile.Options{
		BuildArgs: s.o.BuildArgs,
		Target:    s.o.Target,
		BaseWorkdir: func(ref string) string {
			insp, err := s.eng.API.ImageInspect(ctx, ref)
			if err != nil || insp.Config == nil {
				return ""
			}
			return insp.Config.WorkingDir
		},
	})
}

// Run runs the loop until ctx is cancelled, then rescues files from the
// container and stops it (unless Keep). Errors returned are the ones that
// stop tfdev from starting at all: bad project input, an unusable Engine,
// an inotify limit.
func (s *Session) Run(ctx context.Context) error {
	gpu, platform, err := s.eng.Capabilities(ctx)
	if err != nil {
		return err
	}
	s.gpu = gpu
	p, err := s.Load(ctx)
	if err != nil {
		return err
	}
	s.project = p
	mode := "CPU mode: " + gpu.Why
	if gpu.Available && s.o.GPUs != "none" {
		mode = "GPU mode: " + gpu.Why
	}
	builder := "BuildKit"
	if s.o.Builder == BuilderLegacy {
		builder = "legacy builder"
	}
	gpuOn := gpu.Available && s.o.GPUs != "none"
	s.emit(Event{Kind: EvProject, GPU: &gpuOn, Builder: builder, Project: p.Dir, Engine: s.eng.Host, Reason: gpu.Why,
		Message: fmt.Sprintf("project %s, engine %s (API %s, %s), %s, %s", p.Dir, s.eng.Host, s.eng.APIVersion, platform, builder, mode)})
	s.emitPlan()
	s.emitDoctor(ctx)

	w, err := watcher.New(watcher.Options{
		Dir: p.Dir, Rules: p.Rules, Quiet: s.o.Quiet, Ceiling: s.o.Ceiling,
		Reload: func() (watcher.Rules, error) {
			np, err := s.Load(ctx)
			if err != nil {
				return watcher.Rules{}, err
			}
			s.latest.Store(np)
			return np.Rules, nil
		},
	})
	if err != nil {
		return err
	}
	defer w.Close()
	s.emit(Event{Kind: EvWatch, Message: fmt.Sprintf("%s (%d directories)", p.Dir, len(w.Watched()))})

	if err := s.adopt(ctx); err != nil {
		return err
	}
	deaths := s.watchDeaths(ctx)
	buildDone := make(chan buildOutcome, 1)
	var buildWG sync.WaitGroup
	defer buildWG.Wait() // no orphaned build: its context is ctx
	startBuild := func(reason string) {
		s.building = true
		s.emit(Event{Kind: EvBuildStart, Reason: reason})
		proj := s.project
		buildWG.Add(1)
		go func() {
			defer buildWG.Done()
			res, err := s.build(ctx, proj)
			buildDone <- buildOutcome{res, err, proj}
		}()
	}
	startBuild("start")

	for {
		select {
		case <-ctx.Done():
			s.shutdown()
			return nil
		case b, ok := <-w.Batches():
			if !ok {
				s.shutdown()
				return nil
			}
			if reason := s.handleBatch(ctx, b); reason != "" {
				if s.building {
					s.pending = append(s.pending, reason)
				} else {
					startBuild(reason)
				}
			}
		case err := <-w.Errors():
			s.fail(err)
		case r := <-s.reqs:
			switch r {
			case RequestRebuild:
				if s.building {
					s.pending = append(s.pending, "requested")
				} else {
					startBuild("requested")
				}
			case RequestResync:
				s.reconcile(ctx, "requested")
			}
		case out := <-buildDone:
			s.building = false
			s.finishBuild(ctx, out)
			if len(s.pending) > 0 {
				reason := strings.Join(dedupe(s.pending), ", ")
				s.pending = nil
				startBuild(reason)
			}
		case d := <-deaths:
			s.handleDeath(ctx, d)
		}
	}
}

type buildOutcome struct {
	res     *BuildResult
	err     error
	project *dockerfile.Project
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// emitDoctor reports, once and without blocking anything, what in the
// project costs needless rebuilds.
func (s *Session) emitDoctor(ctx context.Context) {
	fs, err := doctor.Check(ctx, s.project, doctor.Options{HostIP: s.o.HostIP})
	if err != nil {
		s.fail(fmt.Errorf("checking the project: %w", err))
		return
	}
	for _, f := range fs {
		s.emit(Event{Kind: EvDoctor, Severity: string(f.Severity), File: f.File, Line: f.Line, Message: f.Message, Fix: f.Fix})
	}
}

// emitPlan lists the Dockerfile's steps for a UI.
func (s *Session) emitPlan() {
	m := s.project.Model
	syncLines := map[int]bool{}
	for _, r := range s.project.Rules.Steps {
		if r.Action == watcher.Sync {
			syncLines[r.Line] = true
		}
	}
	var rows []StepRow
	for i, st := range m.AllSteps() {
		row := StepRow{Index: i + 1, Stage: st.Stage, Line: st.Line, Kind: st.Kind, Instruction: st.Text, Sync: syncLines[st.Line]}
		if st.Stage >= 0 {
			row.StageName = m.Stages[st.Stage].Label(st.Stage)
			row.Target = st.Stage == m.Target
		}
		rows = append(rows, row)
	}
	s.emit(Event{Kind: EvPlan, Steps: rows, File: m.Name})
}

// ImageRepo is the repository tfdev tags a project's images with.
func ImageRepo(dir string) string {
	return "tfdev/" + strings.TrimPrefix(ContainerName(dir), "tfdev-")
}

func (s *Session) build(ctx context.Context, p *dockerfile.Project) (*BuildResult, error) {
	repo := ImageRepo(p.Dir)
	res, err := s.eng.Build(ctx, BuildOptions{
		Project: p, Tags: []string{repo + ":latest"}, BuildArgs: s.o.BuildArgs, Target: s.o.Target,
		Builder: s.o.Builder,
		Labels:  map[string]string{LabelProject: ProjectID(p.Dir)},
		Progress: func(sp StepProgress) {
			s.emit(Event{Kind: EvBuildStep, Index: sp.Index, Total: sp.Total, Line: sp.Line, File: p.Model.Name,
				Instruction: sp.Instruction, State: string(sp.State), Seconds: sp.Duration.Seconds(), Log: sp.Log})
		},
	})
	if err != nil {
		return nil, err
	}
	s.eng.API.ImageTag(ctx, res.ImageID, repo+":"+ShortID(res.ImageID))
	return res, nil
}

// finishBuild puts a new image into service, or reports why not while the
// old container keeps serving.
func (s *Session) finishBuild(ctx context.Context, out buildOutcome) {
	if ctx.Err() != nil {
		return
	}
	if out.err != nil {
		s.emitBuildFailure(out.err)
		return
	}
	res := out.res
	s.emit(Event{Kind: EvBuildDone, Image: res.ImageID, Seconds: res.Duration.Seconds(), Builder: string(res.Builder)})
	prev := s.built
	s.built = res
	res.SeedLedger(s.ledger, out.project.Rules)
	s.halted = false
	switch {
	case s.cur == nil:
		s.startContainer(ctx)
	case s.cur.Image == res.ImageID && prev == nil:
		// Edits made in the container while tfdev was away come home
		// first; then the host's changes go in.
		if err := s.rescue(ctx, s.cur); err != nil {
			s.fail(err)
		}
		s.reconcile(ctx, "reattach")
		s.announce(ctx, "reattached")
	case s.cur.Image == res.ImageID:
		s.info("the running container already has this image")
	default:
		s.replace(ctx)
	}
	s.writeState()
	if prev != nil && prev.ImageID != res.ImageID && s.cur != nil && s.cur.Image == res.ImageID {
		// The old image's own tag; the image goes when nothing uses it.
		s.eng.API.ImageRemove(ctx, ImageRepo(s.project.Dir)+":"+ShortID(prev.ImageID), image.RemoveOptions{})
	}
}

func (s *Session) emitBuildFailure(err error) {
	var be *BuildError
	var se *dockerfile.SyntaxError
	serving := "; the old container is still serving"
	if s.cur == nil {
		serving = "; fix it and save, or ask for a rebuild"
	}
	switch {
	case errors.As(err, &be):
		s.emit(Event{Kind: EvBuildFailed, File: be.File, Line: be.Line, Instruction: be.Instruction, Message: be.Detail() + serving, Log: be.Log})
	case errors.As(err, &se):
		s.emit(Event{Kind: EvBuildFailed, File: se.File, Line: se.Line, Message: se.Msg + serving})
	default:
		s.emit(Event{Kind: EvBuildFailed, File: s.project.Model.Name, Message: err.Error() + serving})
	}
}

func (s *Session) runOptions() RunOptions {
	return RunOptions{
		Dir: s.project.Dir, Image: s.built.ImageID, HostIP: s.o.HostIP, HostPort: s.o.Port,
		Token: s.o.Token, GPUs: s.o.GPUs, GPU: s.gpu,
	}
}

func (s *Session) startContainer(ctx context.Context) {
	c, err := s.eng.Create(ctx, s.runOptions())
	if err != nil {
		s.fail(err)
		return
	}
	if err := s.eng.Start(ctx, c); err != nil {
		s.eng.Remove(ctx, c.ID)
		s.fail(err)
		return
	}
	s.cur = c
	s.reconcile(ctx, "start") // before "ready": ready means up to date
	s.announce(ctx, "new")
}

// announce reports a started container and waits for its Jupyter.
func (s *Session) announce(ctx context.Context, how string) {
	c := s.cur
	msg := how + ", " + c.URL()
	if c.HostPort != s.o.Port && s.o.Port != 0 && how == "new" {
		msg += fmt.Sprintf(" (port %d was taken)", s.o.Port)
	}
	s.emit(Event{Kind: EvContainer, Container: c.Name, Image: c.Image, GPU: &c.GPU, Message: msg})
	s.emit(Event{Kind: EvJupyter, Container: c.Name})
	url, err := s.eng.WaitJupyter(ctx, c, s.o.ReadyTimeout)
	if err != nil {
		var ue *UnreachableJupyterError
		if errors.As(err, &ue) {
			s.emit(Event{Kind: EvUnreachable, Container: c.Name, Message: err.Error(), Log: ue.Logs})
			return
		}
		s.fail(err)
		return
	}
	s.emit(Event{Kind: EvReady, Container: c.Name, URL: url})
}

func (s *Session) replace(ctx context.Context) {
	old := s.cur
	s.expected[old.ID] = true
	nc, err := s.eng.Replace(ctx, old, s.runOptions(), func(o *Container) error {
		return s.rescue(ctx, o)
	}, func(nc *Container) error {
		s.expected[nc.ID] = false
		_, err := s.eng.WaitJupyter(ctx, nc, s.o.ReadyTimeout)
		return err
	})
	if err != nil {
		s.expected[old.ID] = false
		s.fail(err)
		return
	}
	s.cur = nc
	s.reconcile(ctx, "replacement")
	s.announce(ctx, "replaced "+ShortID(old.ID))
}

func (s *Session) rescue(ctx context.Context, c *Container) error {
	rs, err := s.eng.Rescue(ctx, c, s.project.Dir, s.project.Rules, s.ledger)
	for _, r := range rs {
		from := r.From
		to, _ := filepath.Rel(s.project.Dir, r.To)
		s.emit(Event{Kind: EvRescue, From: from, To: to, Conflict: r.Conflict})
	}
	return err
}

func (s *Session) reconcile(ctx context.Context, why string) {
	if s.cur == nil {
		return
	}
	var built []string
	if s.built != nil && s.built.ImageID == s.cur.Image {
		built = s.built.Context
	}
	res, err := s.eng.Reconcile(ctx, s.cur.ID, s.project.Dir, s.project.Rules, built, s.ledger)
	if err != nil {
		s.fail(fmt.Errorf("reconciling files (%s): %w", why, err))
		return
	}
	if res.Files+res.Removed > 0 {
		s.emitSync(res, nil, 0)
	}
}

func (s *Session) emitSync(res SyncResult, paths []string, line int) {
	s.emit(Event{Kind: EvSync, Files: res.Files, Removed: res.Removed, Bytes: res.Bytes, Line: line,
		Ms: float64(res.Duration.Microseconds()) / 1000, Paths: paths, Container: s.cur.Name})
	for _, pe := range res.Errors {
		s.fail(pe)
	}
}

// handleBatch syncs what can be synced and returns the reason for a
// rebuild, or "".
func (s *Session) handleBatch(ctx context.Context, b watcher.Batch) string {
	if b.ReloadErr != nil {
		s.emitBuildFailure(b.ReloadErr)
		return ""
	}
	if b.Reloaded {
		if np := s.latest.Load(); np != nil {
			s.project = np
			s.emitPlan()
		}
	}
	plan := watcher.Classify(b.Changes, b.Rules)
	if len(plan.Sync) > 0 && s.cur != nil {
		res, err := s.eng.Sync(ctx, s.cur.ID, s.project.Dir, plan.Sync, s.ledger)
		if err != nil {
			s.fail(err)
		} else {
			paths := make([]string, 0, len(plan.Sync))
			line := 0
			for _, it := range plan.Sync {
				paths = append(paths, it.Path)
				if it.Rule != nil && line == 0 {
					line = it.Rule.Line
				}
			}
			s.emitSync(res, paths, line)
		}
	}
	if len(b.Rescan) > 0 {
		s.reconcile(ctx, strings.Join(b.Rescan, "; "))
	}
	if !plan.NeedsRebuild() {
		return ""
	}
	var paths []string
	first := plan.Rebuild[0]
	for _, d := range plan.Rebuild {
		paths = append(paths, d.Path)
		if d.Line > 0 && (first.Line == 0 || d.Line < first.Line) {
			first = d
		}
	}
	sort.Strings(paths)
	from := "the first step"
	if first.Rule != nil {
		from = fmt.Sprintf("%s:%d %s", s.project.Model.Name, first.Line, first.Rule.Step)
	}
	s.emit(Event{Kind: EvStale, Line: first.Line, File: s.project.Model.Name, Instruction: from, Paths: paths})
	return strings.Join(paths, ", ") + " changed"
}

// adopt deals with the project's containers from an earlier run: a running
// one is kept (reattached once the build says its image is current), stopped
// ones are rescued from and removed.
func (s *Session) adopt(ctx context.Context) error {
	ids, err := s.eng.ProjectContainers(ctx, s.project.Dir)
	if err != nil {
		return err
	}
	running, err := s.eng.Find(ctx, s.project.Dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if running != nil && id == running.ID {
			continue
		}
		c := &Container{ID: id}
		if err := s.eng.refresh(ctx, c); err == nil {
			if err := s.rescue(ctx, c); err != nil {
				s.fail(err)
				continue // keep it: its files are not safe yet
			}
		}
		s.eng.Remove(ctx, id)
	}
	if running != nil {
		s.cur = running
		s.info("found running container %s (%s)", running.Name, running.URL())
	}
	return nil
}

type death struct {
	id   string
	code int
}

// watchDeaths streams "die" events of the project's containers.
func (s *Session) watchDeaths(ctx context.Context) <-chan death {
	out := make(chan death, 4)
	msgs, errs := s.eng.API.Events(ctx, events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", "container"), filters.Arg("event", "die"),
		filters.Arg("label", LabelProject+"="+ProjectID(s.project.Dir)),
	)})
	go func() {
		for {
			select {
			case m := <-msgs:
				code := -1
				fmt.Sscan(m.Actor.Attributes["exitCode"], &code)
				select {
				case out <- death{m.Actor.ID, code}:
				case <-ctx.Done():
					return
				}
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func (s *Session) handleDeath(ctx context.Context, d death) {
	if s.cur == nil || d.id != s.cur.ID || s.expected[d.id] || ctx.Err() != nil {
		return
	}
	logs, _ := s.eng.LastLogs(ctx, d.id, 15)
	code := d.code
	s.emit(Event{Kind: EvContainerEnd, Container: s.cur.Name, Code: &code, Log: logs})
	now := time.Now()
	recent := s.deaths[:0]
	for _, t := range s.deaths {
		if now.Sub(t) < deathWindow {
			recent = append(recent, t)
		}
	}
	s.deaths = append(recent, now)
	if len(s.deaths) >= maxDeaths || s.halted {
		s.halted = true
		s.fail(fmt.Errorf("the container died %d times within %v; not restarting it. Fix the cause, then save a file that needs a rebuild or ask for one", len(s.deaths), deathWindow))
		return
	}
	if err := s.eng.Start(ctx, s.cur); err != nil {
		s.fail(err)
		return
	}
	s.reconcile(ctx, "restart")
	s.announce(ctx, "restarted after exit code "+fmt.Sprint(code))
}

// shutdown rescues files and stops the container (unless Keep). It uses its
// own context: the run's is already cancelled.
func (s *Session) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if s.cur == nil {
		s.emit(Event{Kind: EvStop, Message: "stopped"})
		return
	}
	if s.o.Keep {
		s.emit(Event{Kind: EvStop, Container: s.cur.Name, Message: "stopped watching; container " + s.cur.Name + " keeps running (--keep)"})
		return
	}
	s.expected[s.cur.ID] = true
	if err := s.eng.Stop(ctx, s.cur.ID); err != nil {
		s.fail(err)
	}
	if err := s.rescue(ctx, s.cur); err != nil {
		s.fail(err)
	}
	s.emit(Event{Kind: EvStop, Container: s.cur.Name, Message: "stopped container " + s.cur.Name})
}

// State is what `tfdev status` reads: the last build and container.
type State struct {
	Image        string    `json:"image"`
	Builder      string    `json:"builder"`
	BuiltAt      time.Time `json:"built_at"`
	BuildSeconds float64   `json:"build_seconds"`
	Container    string    `json:"container,omitempty"`
	URL          string    `json:"url,omitempty"`
}

// StatePath is where the session records a project's State: in the user's
// cache directory, not in the project, where it would change the build
// context.
func StatePath(dir string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "tfdev", ProjectID(dir)+".json")
}

func (s *Session) writeState() {
	st := State{Image: s.built.ImageID, Builder: string(s.built.Builder), BuiltAt: time.Now(), BuildSeconds: s.built.Duration.Seconds()}
	if s.cur != nil {
		st.Container, st.URL = s.cur.Name, s.cur.URL()
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	p := StatePath(s.project.Dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		os.WriteFile(p, append(b, '\n'), 0o644)
	}
}

// ReadState reads the last State of a project; a zero State when none.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(StatePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}
