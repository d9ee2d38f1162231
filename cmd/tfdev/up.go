package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	units "github.com/docker/go-units"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
	"github.com/tfdev-dev/tfdev/watcher"
)

// upFlags are `tfdev up`'s flags beyond the project's.
type upFlags struct {
	projectFlags
	port       int
	hostIP     string
	gpus       string
	token      string
	builder    string
	contextVia string
	cacheFrom  []string
	publish    bool
	debounce   time.Duration
	keep       bool
	deps       string
	replaceNow bool
	hostIDs    bool
	command    string
	autoreload bool
	carry      bool
	carryCap   string
	// carryCapBytes is carryCap, read by check.
	carryCapBytes int64
	jupyterVia    string
	noTUI         bool
	output        string
}

func newUpCmd() *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up [SERVICE]",
		Short: "Build, run Jupyter, and keep the container in step with your files",
		Long: `Build the project's image (cached, layer by layer), run it as a Jupyter
container (GPU when the Engine has one) and watch the folder: source edits
are synced into the running container, dependency changes trigger a cached
rebuild, and the new container replaces the old one only once it is ready,
with the files you made in the old one copied back first.

Ctrl-C (or SIGTERM) stops watching, rescues files from the container and
stops it (unless --keep); a second Ctrl-C exits at once.

Settings come from, lowest first: the Dockerfile alone,
.devcontainer/devcontainer.json, the compose file (compose.yaml,
docker-compose.yml: the service named as SERVICE, else the only one with a
build, else the one publishing 8888), tfdev.toml or [tool.tfdev] in
pyproject.toml, TFDEV_<FLAG> environment variables (TFDEV_PORT=8890), flags.
A bind mount of the project in the compose file is synced, not mounted.

Exit status: 0 ok, 1 runtime failure, 2 usage error or bad project input.`,
		Example: `  tfdev up
  tfdev up notebook                   # the compose service "notebook"
  tfdev up -C testdata/demo --build-arg BASE=tfdev-test/jupyter:bookworm
  tfdev up --no-tui --output json     # for VS Code tasks and scripts`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyConfig(cmd, f.dir); err != nil {
				return err
			}
			if len(args) == 1 {
				f.service = args[0]
			}
			return runUp(cmd, &f)
		},
	}
	f.registerUp(cmd)
	return cmd
}

func (f *upFlags) registerUp(cmd *cobra.Command) {
	f.register(cmd)
	fl := cmd.Flags()
	fl.IntVar(&f.port, "port", model.JupyterPort, "host port for Jupyter (a free one is taken if it is busy; 0: any free port)")
	fl.StringVar(&f.hostIP, "host-ip", "127.0.0.1", "host address to publish Jupyter on")
	fl.StringVar(&f.gpus, "gpus", "auto", "auto, all, none, a count, or device IDs (0,1)")
	fl.StringVar(&f.token, "token", "", "Jupyter token (default: a random 128-bit one)")
	fl.StringVar(&f.builder, "builder", "auto", "auto, buildkit or legacy")
	fl.StringVar(&f.contextVia, "context-via", "auto", contextViaUsage)
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, cacheFromUsage)
	fl.DurationVar(&f.debounce, "debounce", watcher.DefaultQuiet, "quiet time before a batch of changes is applied")
	fl.BoolVar(&f.keep, "keep", false, "leave the container running when tfdev exits")
	fl.StringVar(&f.deps, "deps", loop.DepsLive, "live: install a dependency change in the running container when the Dockerfile allows (its kernels live on), the image catching up behind; rebuild: always rebuild and replace")
	fl.BoolVar(&f.autoreload, "autoreload", true, "turn on IPython autoreload in the container's new kernels, with the project on sys.path, so an edit reaches a running kernel at its next cell")
	fl.BoolVar(&f.carry, "carry-kernels", true, "when a change needs a new container, carry each running kernel's variables into a kernel of the new one, under the same kernel ID, so open notebooks keep working; false: kernels restart empty")
	fl.StringVar(&f.carryCap, "carry-cap", "2GB", "the most variables carried per kernel (names past it are listed as not carried)")
	fl.StringVar(&f.jupyterVia, "jupyter-via", dockerctl.JupyterViaPublish, "how tfdev's URL reaches the container's Jupyter: publish (a loopback port) or exec (a relay through the Engine's connection, nothing published)")
	fl.BoolVar(&f.publish, "publish", false, "with --jupyter-via exec (the default for a remote Engine), also publish Jupyter on the Engine's host at --host-ip:--port (for an ssh -L of your own, or a browser on that machine)")
	fl.BoolVar(&f.replaceNow, "replace-now", false, "at start, replace a container that matches the image only through live installs")
	fl.StringVar(&f.command, "command", "", "the container's command, a shell line (default: the image's when it starts Jupyter, else tfdev starts the image's Jupyter)")
	fl.BoolVar(&f.hostIDs, "host-ids", true, "pass your user's uid and gid to the Dockerfile's ARGs named for them (USER_ID, GROUP_ID, UID, GID ...) that the build is not given")
	fl.BoolVar(&f.noTUI, "no-tui", false, "print plain event lines even on a terminal")
	fl.StringVarP(&f.output, "output", "o", "plain", "plain or json (one object per line), when not in the terminal UI")
}

func (f *upFlags) check() error {
	switch f.output {
	case "plain", "json":
	default:
		return badInput(fmt.Errorf("--output must be plain or json, not %q", f.output))
	}
	switch model.Builder(f.builder) {
	case model.BuilderAuto, model.BuilderBuildKit, model.BuilderLegacy:
	default:
		return badInput(fmt.Errorf("--builder must be auto, buildkit or legacy, not %q", f.builder))
	}
	if err := checkContextVia(f.contextVia); err != nil {
		return err
	}
	n, err := units.FromHumanSize(f.carryCap)
	if err != nil || n <= 0 {
		return badInput(fmt.Errorf("--carry-cap must be a size such as 500MB or 2GB, not %q", f.carryCap))
	}
	f.carryCapBytes = n
	if f.debounce <= 0 {
		return badInput(fmt.Errorf("--debounce must be positive"))
	}
	if f.jupyterVia != dockerctl.JupyterViaPublish && f.jupyterVia != dockerctl.JupyterViaExec {
		return badInput(fmt.Errorf("--jupyter-via must be publish or exec, not %q", f.jupyterVia))
	}
	if f.deps != loop.DepsLive && f.deps != loop.DepsRebuild {
		return badInput(fmt.Errorf("--deps must be live or rebuild, not %q", f.deps))
	}
	return nil
}

const cacheFromUsage = "an image (in a registry) whose layers the build may reuse: a teammate's or CI's push with its inline cache (repeatable)"

const contextViaUsage = "how BuildKit gets the build context: auto (a session when the Engine takes one, so a rebuild sends only changed files), session, or tar (all of it every build)"

func checkContextVia(v string) error {
	switch v {
	case "auto", engine.ContextViaSession, engine.ContextViaTar:
		return nil
	}
	return badInput(fmt.Errorf("--context-via must be auto, session or tar, not %q", v))
}

// contextVia is the BuildOptions.Context of the flag's value.
func contextVia(v string) string {
	if v == "auto" {
		return ""
	}
	return v
}

// eventPrinter writes events as plain lines or JSON lines, each with its
// time. A write that fails (a closed pipe) has nowhere to be reported.
func eventPrinter(w io.Writer, format string) func(event.Event) {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	var pulls pullLines
	return event.Stamped(func(e event.Event) {
		mu.Lock()
		defer mu.Unlock()
		if format == "json" {
			_ = enc.Encode(e)
			return
		}
		if e.Kind == event.BuildPull {
			if line, ok := pulls.add(e); ok {
				_, _ = fmt.Fprintln(w, line)
			}
			return
		}
		if line, ok := pulls.end(e); ok {
			_, _ = fmt.Fprintln(w, line)
		}
		if e.Quiet() {
			return
		}
		_, _ = fmt.Fprintln(w, e.Plain())
	}, time.Now)
}

// pullEvery is how often plain output says how a pull goes.
const pullEvery = 5 * time.Second

// pullLines turns a base image's build.pull events into a plain line at
// most every pullEvery, and one when its step ends.
type pullLines struct {
	meter event.PullMeter
	step  int
	image string
	said  time.Time // the last line, or the first event
}

func (p *pullLines) add(e event.Event) (string, bool) {
	if p.said.IsZero() {
		p.said = e.Time
	}
	p.meter.Add(e)
	p.step, p.image = e.Index, e.Image
	if e.Time.Sub(p.said) < pullEvery {
		return "", false
	}
	p.said = e.Time
	return "tfdev: pulling " + p.image + ": " + p.meter.Summary(), true
}

// end is the last line of a pull, once the step it belongs to ends (or
// tfdev pull does).
func (p *pullLines) end(e event.Event) (string, bool) {
	stepEnd := e.Kind == event.BuildStep && e.Index == p.step && e.State != event.StepRunning
	phaseEnd := e.Kind == event.Phase && e.State == event.StepDone // tfdev pull's, a session's base-first pull
	if p.said.IsZero() || !stepEnd && !phaseEnd && e.Kind != event.BuildFailed {
		return "", false
	}
	line := "tfdev: pulled " + p.image + ": " + p.meter.Summary()
	*p = pullLines{}
	return line, true
}

// withEngine runs fn with a context that the first SIGINT or SIGTERM
// cancels and a connection to the Engine, closed afterwards.
func withEngine(cmd *cobra.Command, fn func(ctx context.Context, eng *engine.Engine) error) error {
	return withEngineSaying(cmd, sayOn(cmd.ErrOrStderr()), fn)
}

// withEngineSaying is withEngine with what signals say going to say.
func withEngineSaying(cmd *cobra.Command, say func(string), fn func(ctx context.Context, eng *engine.Engine) error) error {
	ctx, stop := signalContext(cmd.Context(), say)
	defer stop()
	eng, err := engine.Connect(ctx)
	if err != nil {
		return err
	}
	defer eng.Close()
	return fn(ctx, eng)
}

func buildArgs(kvs []string) map[string]string {
	args := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := splitKV(kv)
		if ok {
			args[k] = v
		}
	}
	return args
}

func runUp(cmd *cobra.Command, f *upFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return badInput(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return badInput(fmt.Errorf("project directory %s: not a directory", f.dir))
	}
	lock, err := statefile.TakeLock(dir)
	if err != nil {
		return err
	}
	defer lock.Release() // also released by the kernel when the process ends
	// One printer for the session's events and what signals say, so that
	// --output json prints only JSON.
	emit := eventPrinter(cmd.OutOrStdout(), f.output)
	say := sayOn(cmd.ErrOrStderr())
	if !f.usesTUI(cmd) {
		say = func(msg string) { emit(event.Event{Kind: event.Info, Message: msg}) }
	}
	return withEngineSaying(cmd, say, func(ctx context.Context, eng *engine.Engine) error {
		return runSession(ctx, cmd, f, dir, eng, emit)
	})
}

// usesTUI: the terminal UI runs when stdout is a terminal, unless --no-tui
// or --output json ask for lines.
func (f *upFlags) usesTUI(cmd *cobra.Command) bool {
	out, ok := cmd.OutOrStdout().(*os.File)
	return ok && isTerminal(out) && !f.noTUI && f.output == "plain"
}

func runSession(ctx context.Context, cmd *cobra.Command, f *upFlags, dir string, eng *engine.Engine, emit func(event.Event)) error {
	spec, err := f.projectSpec() // fills the Dockerfile, target and build args the flags did not give
	if err != nil {
		return err
	}
	opts := dockerctl.SessionOptions{
		Dir: dir, Dockerfile: f.dockerfile, BuildArgs: buildArgs(f.buildArgs), Target: f.target,
		Builder: model.Builder(f.builder), ContextVia: contextVia(f.contextVia), CacheFrom: f.cacheFrom, HostIP: f.hostIP, Port: f.port, Token: f.token, GPUs: f.gpus,
		Keep: f.keep, Quiet: f.debounce, Deps: f.deps, ReplaceNow: f.replaceNow, NoAutoreload: !f.autoreload, NoCarry: !f.carry, CarryCap: f.carryCapBytes, JupyterVia: f.jupyterVia, Publish: f.publish,
	}
	applySpec(cmd, &opts, spec)
	if f.command != "" {
		opts.Run.Entrypoint, opts.Run.Cmd, opts.Run.CommandGiven = []string{"sh", "-c"}, []string{f.command}, true
	}
	if f.hostIDs {
		args, note := hostIDArgs(dir, opts.Dockerfile, opts.BuildArgs, os.Getuid(), os.Getgid())
		maps.Copy(opts.BuildArgs, args)
		opts.HostIDs = note
	}
	if !cmd.Flags().Changed("jupyter-via") && !strings.HasPrefix(eng.Host, "unix://") && !strings.HasPrefix(eng.Host, "npipe://") {
		// A remote Engine publishes on its own host, which the browser may
		// not reach: Jupyter comes through the Engine's connection.
		opts.JupyterVia = dockerctl.JupyterViaExec
	}
	// The terminal UI when stdout is a terminal; plain or JSON lines for
	// pipes, VS Code tasks and CI, or with --no-tui.
	if f.usesTUI(cmd) {
		return projectError(runWithTUI(ctx, eng, opts))
	}
	opts.Emit = emit
	sess := dockerctl.NewSession(eng, opts)
	say := func(msg string) { emit(event.Event{Kind: event.Info, Message: msg}) }
	go readRequests(ctx, cmd.InOrStdin(), sess.Requests(), say) // ends with its input; nothing waits for it
	return projectError(sess.Run(ctx))
}

// projectError marks errors caused by the project's files as usage errors
// (exit status 2).
func projectError(err error) error {
	var se *dockerfile.SyntaxError
	var pe *watcher.PatternError
	if errors.Is(err, dockerfile.ErrNoDockerfile) || errors.As(err, &se) || errors.As(err, &pe) {
		return badInput(err)
	}
	return err
}

// hostIDArgs are the host user's uid and gid for the Dockerfile's ARGs
// named for them that the build is not given (a non-root image made for
// the user, as dev containers make them), and what to say of it. Root's
// ids are not passed: a Dockerfile that adds a user with them fails.
func hostIDArgs(dir, df string, given map[string]string, uid, gid int) (map[string]string, string) {
	p, err := dockerfile.Load(dir, df, dockerfile.Options{BuildArgs: given})
	if err != nil {
		return nil, "" // the session says what is wrong with the Dockerfile
	}
	args := map[string]string{}
	var names []string
	for _, a := range p.Model.Args() {
		kind := dockerfile.HostIDArg(a.Name)
		if _, ok := given[a.Name]; kind == "" || ok || args[a.Name] != "" {
			continue
		}
		args[a.Name] = strconv.Itoa(uid)
		if kind == "gid" {
			args[a.Name] = strconv.Itoa(gid)
		}
		names = append(names, a.Name+"="+args[a.Name])
	}
	switch {
	case len(names) == 0:
		return nil, ""
	case uid == 0:
		return nil, fmt.Sprintf("you run tfdev as root: the Dockerfile's %s are not given your ids (pass them with --build-arg)", strings.Join(slices.Sorted(maps.Keys(args)), ", "))
	}
	return args, fmt.Sprintf("build args from your user: %s (--host-ids=false leaves them out)", strings.Join(names, " "))
}
