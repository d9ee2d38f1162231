package dockerctl

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/doctor"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
	"github.com/tfdev-dev/tfdev/watcher"
)

// SessionOptions configure `tfdev up`.
type SessionOptions struct {
	Dir          string
	Dockerfile   string
	BuildArgs    map[string]string
	Target       string
	Builder      model.Builder
	CacheFrom    []string // images whose layers (inline cache) the build may reuse
	ContextVia   string   // BuildOptions.Context: "" (session when the Engine takes one), ContextViaSession or ContextViaTar
	HostIP       string
	Port         int
	Token        string
	GPUs         string
	Keep         bool          // leave the container running at exit
	Deps         string        // DepsLive (the default) or DepsRebuild
	ReplaceNow   bool          // at start, replace a container that matches the image only through live installs
	NoAutoreload bool          // leave the kernels' autoreload off (--autoreload=false)
	NoCarry      bool          // a replacement restarts kernels empty (--carry-kernels=false)
	CarryCap     int64         // bytes of variables carried per kernel (0: model.DefaultCarryCap)
	JupyterVia   string        // JupyterViaPublish (the default) or JupyterViaExec: how the front door reaches Jupyter
	Publish      bool          // with JupyterViaExec, publish Jupyter on the Engine's host too, at HostIP:Port
	Quiet        time.Duration // watcher quiet window
	Ceiling      time.Duration // watcher ceiling
	ReadyTimeout time.Duration
	// From a compose file or devcontainer.json (ConfiguredBy names it):
	// how to run the container, the container environment, the bind
	// mounts tfdev syncs, the workspace the project syncs into when the
	// Dockerfile copies no source, and the source of GPUs when it asked.
	ConfiguredBy string
	Run          model.RunSettings
	Env          []string
	Mounts       []watcher.Rule
	Workspace    string
	GPUsFrom     string
	Notes        []string // said once at the start (what tfdev does not apply from the file)
	// Lifecycle are a dev container's lifecycle commands.
	Lifecycle model.Lifecycle
	// HostIDs says what tfdev did with the build args named for the
	// user's ids (given them the user's, or not as root), for the project
	// line; "" when the Dockerfile has none.
	HostIDs string
	// Emit receives every event, one at a time, each with its time.
	Emit func(event.Event)
}

// Session is the dev loop: build, run, watch, sync or rebuild. It wires
// the watcher, the reducer (reducer.go: what to do) and the executor
// (executor.go: doing it) together.
type Session struct {
	eng  ports
	o    SessionOptions
	reqs chan event.Request
	emit func(event.Event)
}

// NewSession prepares a session on the Engine; Run starts it.
func NewSession(eng *engine.Engine, o SessionOptions) *Session {
	return newSession(enginePorts(eng), o)
}

func newSession(eng ports, o SessionOptions) *Session {
	if o.Emit == nil {
		o.Emit = func(event.Event) {}
	}
	if o.Builder == "" {
		o.Builder = model.BuilderAuto
	}
	var mu sync.Mutex
	emit := func(e event.Event) {
		mu.Lock()
		defer mu.Unlock()
		o.Emit(e)
	}
	return &Session{eng: eng, o: o, reqs: make(chan event.Request, 8), emit: event.Stamped(emit, time.Now)}
}

// Requests takes the user's requests (rebuild now, resync).
func (s *Session) Requests() chan<- event.Request { return s.reqs }

// Load reads the project (Dockerfile, ignore files) with the base images'
// working directories from the Engine.
func (s *Session) Load(ctx context.Context) (*dockerfile.Project, error) {
	return dockerfile.Load(s.o.Dir, s.o.Dockerfile, dockerfile.Options{
		BuildArgs:   s.o.BuildArgs,
		Target:      s.o.Target,
		BaseWorkdir: func(ref string) string { return s.eng.ImageWorkdir(ctx, ref) },
		Mounts:      s.o.Mounts,
		Workspace:   s.o.Workspace,
		ServedDir:   func(m *dockerfile.Model) string { return s.servedDir(ctx, m) },
	})
}

// servedDir is the folder the container's Jupyter will serve: the compose
// command's, the Dockerfile's CMD's, else the base image's.
func (s *Session) servedDir(ctx context.Context, m *dockerfile.Model) string {
	return m.ServedDir(append(slices.Clone(s.o.Run.Entrypoint), s.o.Run.Cmd...), func(base string) string { return s.eng.ImageServedDir(ctx, base) })
}

// baseFirst: a Dockerfile that copies no source, whose base image is not
// on the Engine yet, does not say where its Jupyter serves; the base is
// pulled first (the build would pull it anyway), with its progress, and
// the project read again so that the source has its workspace.
func (s *Session) baseFirst(ctx context.Context, p *dockerfile.Project) (*dockerfile.Project, error) {
	base := p.Model.ExternalBase()
	if p.Workspace != "" || len(p.Rules.Mounts) > 0 || dockerfile.CopiesSource(p.Rules) || base == "" || s.eng.ImagePresent(ctx, base) {
		return p, nil
	}
	done := phase(s.emit, "pulling "+base+" first: the Dockerfile copies no source, and the base image says where its Jupyter serves")
	_, err := s.eng.Pull(ctx, base, func(pp model.PullProgress) { s.emit(pp.Event()) })
	done()
	if err != nil {
		s.emit(event.Event{Kind: event.Error, Message: err.Error() + "; the build will try again"})
		return p, nil
	}
	return s.Load(ctx)
}

// gpuFallback: a GPU request from a compose file or devcontainer.json, on
// an Engine with no GPU, runs on CPU and says why.
func (s *Session) gpuFallback(gpu model.GPUSupport) {
	if s.o.GPUsFrom == "" || gpu.Available || s.o.GPUs == "" || s.o.GPUs == "auto" || s.o.GPUs == "none" {
		return
	}
	s.emit(event.Event{Kind: event.Info, Message: fmt.Sprintf("%s asks for GPUs (%s), but this Engine has none (%s): running on CPU", s.o.GPUsFrom, s.o.GPUs, gpu.Why)})
	s.o.GPUs = "none"
}

// open learns what the Engine can do, reads the project and says what the
// session is: the project event, the notes of its compose file or
// devcontainer.json, a GPU request run on CPU.
func (s *Session) open(ctx context.Context) (*dockerfile.Project, model.GPUSupport, error) {
	gpu, platform, err := s.eng.Capabilities(ctx)
	if err != nil {
		return nil, gpu, err
	}
	p, err := s.Load(ctx)
	if err != nil {
		return nil, gpu, err
	}
	s.emit(s.projectEvent(p, gpu, platform))
	for _, n := range s.o.Notes {
		s.emit(event.Event{Kind: event.Info, Message: n})
	}
	s.gpuFallback(gpu)
	p, err = s.baseFirst(ctx, p)
	return p, gpu, err
}

// Run runs the loop until ctx is cancelled, then rescues files from the
// container and stops it (unless Keep). Errors returned are the ones that
// stop tfdev from starting at all: bad project input, an unusable Engine,
// an inotify limit.
func (s *Session) Run(ctx context.Context) error {
	// The door first: a page left open by a tfdev that stopped retries
	// within a second, and a door that listens holds its requests until a
	// container serves; one that does not would have it say the
	// connection failed.
	abs, err := filepath.Abs(s.o.Dir)
	if err != nil {
		return err
	}
	door, err := s.openDoor(abs)
	if err != nil {
		return err
	}
	defer door.Close()
	p, gpu, err := s.open(ctx)
	if err != nil {
		return err
	}
	s.emit(loop.PlanEvent(p))
	s.emitDoctor(ctx, p)
	s.initialize(ctx, p.Dir)
	w, err := watcher.New(watcher.Options{
		Dir: p.Dir, Rules: p.Rules, Quiet: s.o.Quiet, Ceiling: s.o.Ceiling,
		Reload: func() (watcher.Loaded, error) { return s.Load(ctx) },
	})
	if err != nil {
		return err
	}
	defer w.Close()
	s.emit(event.Event{Kind: event.Watch, Message: fmt.Sprintf("%s (%d directories)", p.Dir, len(w.Watched()))})

	async := make(chan loop.Input, 16)
	x := newExecutor(s.eng, s.o, gpu, s.emit, async)
	x.door = door
	defer x.wait() // no orphaned build: its context is ctx
	done := x.phase("looking for the project's containers from an earlier run")
	adopted, err := x.adopt(ctx, p)
	done()
	if err != nil {
		return err
	}
	go s.watchEngine(ctx, p.Dir, async)

	st := loop.NewState(loop.Config{Door: door.Base(), Keep: s.o.Keep, Engine: s.eng.Addr(), Deps: s.o.Deps, ReplaceNow: s.o.ReplaceNow, Autoreload: !s.o.NoAutoreload, Lifecycle: s.o.Lifecycle.InContainer()}, p)
	queue := []loop.Input{adopted}
	for {
		for len(queue) > 0 {
			in := queue[0]
			queue = queue[1:]
			var fx []loop.Effect
			st, fx = loop.Reduce(st, in)
			for _, e := range fx {
				queue = append(queue, x.Apply(ctx, e)...)
			}
		}
		if st.Done {
			return nil
		}
		queue = append(queue, s.next(ctx, w, async))
	}
}

// next waits for the next input from outside the loop.
func (s *Session) next(ctx context.Context, w *watcher.Watcher, async <-chan loop.Input) loop.Input {
	select {
	case <-ctx.Done():
		return loop.Quit{}
	case b, ok := <-w.Batches():
		if !ok {
			return loop.Quit{}
		}
		return loop.Batch{Batch: b}
	case err := <-w.Errors():
		return loop.Failed{Err: err}
	case r := <-s.reqs:
		return loop.Requested{Request: r}
	case in := <-async:
		return in
	}
}

func (s *Session) projectEvent(p *dockerfile.Project, gpu model.GPUSupport, platform string) event.Event {
	gpuOn := gpu.Available && s.o.GPUs != "none"
	mode := "CPU mode: " + gpu.Why
	if gpuOn {
		mode = "GPU mode: " + gpu.Why
	}
	builder := "BuildKit"
	switch {
	case s.eng.Podman():
		builder = "Buildah (Podman's builder; the context goes as a tar)"
	case s.o.Builder == model.BuilderLegacy:
		builder = "legacy builder"
	}
	return event.Event{Kind: event.Project, GPU: &gpuOn, Builder: builder, Project: p.Dir, Engine: s.eng.Addr(), EngineName: s.eng.Name(), Reason: gpu.Why,
		Message: fmt.Sprintf("project %s%s, engine %s at %s (API %s, %s), %s, %s", p.Dir, s.configured(p), s.eng.Name(), s.eng.Addr(), s.eng.Version(), platform, builder, mode)}
}

// configured says which file configured the session, and where the project
// syncs when the Dockerfile copies no source.
func (s *Session) configured(p *dockerfile.Project) string {
	var out string
	if s.o.ConfiguredBy != "" {
		out = " (configured by " + s.o.ConfiguredBy + ")"
	}
	if p.Workspace != "" {
		out += ", synced into " + p.Workspace + " (the Dockerfile copies no source)"
	}
	if s.o.HostIDs != "" {
		out += ", " + s.o.HostIDs
	}
	return out
}

// emitDoctor reports, once and without blocking anything, what in the
// project costs needless rebuilds.
func (s *Session) emitDoctor(ctx context.Context, p *dockerfile.Project) {
	done := phase(s.emit, "checking the project (tfdev doctor)")
	fs, err := doctor.Check(ctx, p, doctor.Options{HostIP: s.o.HostIP, ServedDir: s.servedDir(ctx, p.Model), BuildArgs: s.o.BuildArgs, Command: s.command(ctx, p.Model)})
	done()
	if err != nil {
		s.emit(event.Event{Kind: event.Error, Message: fmt.Sprintf("checking the project: %v", err)})
		return
	}
	for _, f := range fs {
		s.emit(event.Event{Kind: event.Doctor, Severity: string(f.Severity), File: f.File, Line: f.Line, Message: f.Message, Fix: f.Fix})
	}
}

// openDoor opens the front door on the user's port, with the project's
// token (kept across runs, so the URL does not change), and says so when
// the port was taken.
func (s *Session) openDoor(dir string) (*frontdoor.FrontDoor, error) {
	token, err := statefile.SessionToken(dir, s.o.Token)
	if err != nil {
		return nil, err
	}
	s.o.Token = token
	door, taken, err := frontdoor.OpenFrontDoor(s.o.HostIP, s.o.Port, token)
	if err != nil {
		return nil, err
	}
	if taken != nil {
		s.emit(event.Event{Kind: event.Info, Message: taken.Error()})
	}
	return door, nil
}

// command is what the container will run, as far as the files and the
// base image say: the compose file's or devcontainer's, else the
// Dockerfile's ENTRYPOINT and CMD, else the base image's; nil when the user
// gave it (--command) or it is not known.
func (s *Session) command(ctx context.Context, m *dockerfile.Model) []string {
	if s.o.Run.CommandGiven {
		return nil
	}
	if run := append(slices.Clone(s.o.Run.Entrypoint), s.o.Run.Cmd...); len(run) > 0 {
		return run
	}
	if run := m.RunArgs(); len(run) > 0 {
		return run
	}
	if base := m.ExternalBase(); base != "" {
		return s.eng.ImageCommand(ctx, base)
	}
	return nil
}
