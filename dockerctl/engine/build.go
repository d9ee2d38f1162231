package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine/progress"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Build builds the project's image through the Engine API: the context tar
// is exactly the files `tfdev context` lists, Version is always set, and
// intermediate containers are removed.
func (e *Engine) Build(ctx context.Context, opts model.BuildOptions) (*model.BuildResult, error) {
	p := opts.Project
	if p == nil {
		return nil, errors.New("build: no project")
	}
	builder := opts.Builder
	if builder == "" {
		builder = model.BuilderAuto
	}
	start := time.Now()
	if e.Podman() {
		// Podman builds with Buildah whatever the request says: no
		// BuildKit session, the context as a tar, and a stream of steps
		// as the legacy builder's.
		res, err := e.build(ctx, opts, model.BuilderLegacy)
		if res != nil {
			res.Builder, res.Duration = model.BuilderBuildah, time.Since(start)
		}
		loginError(opts.Project.Model, err)
		return res, err
	}
	try := model.BuilderBuildKit
	if builder == model.BuilderLegacy {
		try = model.BuilderLegacy
	}
	if try == model.BuilderLegacy {
		if err := e.pullCacheFrom(ctx, opts); err != nil {
			return nil, err
		}
	}
	res, err := e.build(ctx, opts, try)
	if err != nil && builder == model.BuilderAuto && try == model.BuilderBuildKit && refusedBuildKit(err) {
		if err := e.pullCacheFrom(ctx, opts); err != nil {
			return nil, err
		}
		res, err = e.build(ctx, opts, model.BuilderLegacy)
	}
	loginError(opts.Project.Model, err)
	if res != nil {
		res.Duration = time.Since(start)
	}
	return res, err
}

// pullCacheFrom: the legacy builder takes --cache-from only from local
// images, so they are pulled first, saying so.
func (e *Engine) pullCacheFrom(ctx context.Context, opts model.BuildOptions) error {
	for _, ref := range opts.CacheFrom {
		if opts.Say != nil {
			opts.Say(fmt.Sprintf("the legacy builder uses only local images for --cache-from: pulling %s first", ref))
		}
		if _, err := e.Pull(ctx, ref, opts.Pull); err != nil {
			return fmt.Errorf("--cache-from %s: %w", ref, err)
		}
	}
	return nil
}

// loginError rewords a FROM the registry refused for want of a login:
// which registry, and the command that fixes it.
func loginError(m *dockerfile.Model, err error) {
	var be *model.BuildError
	if !errors.As(err, &be) || !needsLogin(be.Msg) {
		return
	}
	ref := m.ExternalBase()
	for _, st := range m.Stages {
		if st.Line == be.Line && st.BaseStage < 0 {
			ref = st.Base
		}
	}
	be.Msg = (&model.LoginError{Image: ref, Registry: RegistryOf(ref), Said: be.Msg}).Error()
}

// refusedBuildKit: the Engine cannot run BuildKit builds (too old, or
// disabled) and said so before building anything.
func refusedBuildKit(err error) bool {
	var be *model.BuildError
	if errors.As(err, &be) {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "buildkit") && (strings.Contains(s, "not supported") || strings.Contains(s, "not enabled") || strings.Contains(s, "unsupported"))
}

func (e *Engine) build(ctx context.Context, opts model.BuildOptions, builder model.Builder) (*model.BuildResult, error) {
	p := opts.Project
	var outside map[string]string // a Dockerfile outside the project goes into the tar under this name
	dfRel, err := filepath.Rel(p.Dir, p.DockerfilePath)
	if err != nil || strings.HasPrefix(dfRel, "..") {
		dfRel = outsideDockerfile
		outside = map[string]string{outsideDockerfile: p.DockerfilePath}
	}
	dfRel = filepath.ToSlash(dfRel)
	if builder == model.BuilderBuildKit && opts.Context != ContextViaTar {
		cs, err := e.startContextSession(ctx, p)
		if err == nil {
			return e.buildFromSession(ctx, opts, cs)
		}
		if opts.Context == ContextViaSession || ctx.Err() != nil {
			return nil, err
		}
		// The Engine takes no session: the whole context as a tar.
	}
	extra := []string{dfRel}
	if builder == model.BuilderLegacy {
		// The legacy builder reads .dockerignore itself only to drop an
		// excluded Dockerfile and .dockerignore after reading them.
		extra = append(extra, ".dockerignore")
	}
	body := newContextTarWith(ctx, p.Dir, p.Rules.Ignore, extra, outside)
	defer body.Close()
	if opts.Sent != nil {
		go func() {
			<-body.done
			opts.Sent(body.bytes.Load())
		}()
	}
	res, err := e.runBuild(ctx, opts, body, imageBuildOptions(opts, builder, dfRel), nil)
	if err != nil {
		return nil, err
	}
	res.Builder, res.ContextVia = builder, ContextViaTar
	_ = body.Close() // the Engine read all it needed; closing ends the writer
	<-body.done
	res.Context, res.ContextSums = body.sent, body.sums
	res.ContextSent, res.ContextBytes = body.sent, body.bytes.Load()
	return res, nil
}

// buildFromSession builds with BuildKit reading the context and the
// Dockerfile through the session.
func (e *Engine) buildFromSession(ctx context.Context, opts model.BuildOptions, cs *contextSession) (*model.BuildResult, error) {
	defer cs.close()
	p := opts.Project
	bo := imageBuildOptions(opts, model.BuilderBuildKit, filepath.Base(p.DockerfilePath))
	bo.SessionID, bo.RemoteContext = cs.sess.ID(), clientSession
	var once sync.Once
	loaded := func() {
		if opts.Sent != nil {
			once.Do(func() { opts.Sent(cs.bytes.Load()) })
		}
	}
	res, err := e.runBuild(ctx, opts, http.NoBody, bo, loaded)
	loaded() // a build that failed before, or a trace without the vertex
	if err != nil {
		return nil, err
	}
	res.Builder, res.ContextVia, res.ContextBytes = model.BuilderBuildKit, ContextViaSession, cs.bytes.Load()
	cs.mu.Lock()
	res.ContextSent = slices.Clone(cs.sent)
	cs.mu.Unlock()
	res.Context, res.ContextSums = cs.contextSums(&e.sums)
	return res, nil
}

// runBuild starts the build and follows its progress to the image;
// loaded, when set, hears once BuildKit has the context.
func (e *Engine) runBuild(ctx context.Context, opts model.BuildOptions, body io.Reader, bo build.ImageBuildOptions, loaded func()) (*model.BuildResult, error) {
	resp, err := e.api.ImageBuild(ctx, body, bo)
	if err != nil {
		return nil, fmt.Errorf("starting the build on %s: %w", e.Host, err)
	}
	defer resp.Body.Close()

	t := progress.NewTracker(opts.Project.Model, opts.Progress)
	t.Exporting, t.Loaded, t.Pull = opts.Exporting, loaded, opts.Pull
	res := &model.BuildResult{}
	if res.ImageID, err = readBuild(ctx, resp.Body, t); err != nil {
		return nil, err
	}
	t.Finish()
	if res.ImageID == "" {
		return nil, fmt.Errorf("the build ended without an image ID")
	}
	res.Steps = t.Steps()
	return res, nil
}

func imageBuildOptions(opts model.BuildOptions, builder model.Builder, dockerfile string) build.ImageBuildOptions {
	args := map[string]*string{}
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}
	version := build.BuilderBuildKit
	if builder == model.BuilderLegacy {
		version = build.BuilderV1
	}
	return build.ImageBuildOptions{
		Version:     version,
		Remove:      true,
		ForceRemove: true,
		Dockerfile:  dockerfile,
		Tags:        opts.Tags,
		BuildArgs:   args,
		Target:      opts.Target,
		CacheFrom:   opts.CacheFrom,
		Labels:      opts.Labels,
		NoCache:     opts.NoCache,
		AuthConfigs: buildAuth(),
	}
}

// readBuild reads the Engine's build stream into the tracker and returns
// the image ID the stream names.
func readBuild(ctx context.Context, r io.Reader, t *progress.Tracker) (string, error) {
	var imageID string
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return imageID, nil
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("reading the build's progress: %w", err)
		}
		switch {
		case m.Error != nil:
			return "", t.Fail(m.Error.Message)
		case m.Aux != nil && m.ID == "moby.buildkit.trace":
			st, err := progress.Decode(*m.Aux)
			if err != nil {
				return "", err
			}
			t.Trace(st)
		case m.Aux != nil:
			var id struct{ ID string }
			if json.Unmarshal(*m.Aux, &id) == nil && id.ID != "" {
				imageID = id.ID
			}
		case m.Stream != "":
			t.Stream(m.Stream)
		case t.Pull != nil && t.Current > 0:
			if p, ok := t.Pulling.Next(m, progress.Pulling); ok { // the legacy builder pulling a FROM
				p.Step, p.Image = t.Current, t.All[t.Current-1].Text
				t.Pull(p)
			}
		}
	}
}

// outsideDockerfile is the tar's name for a Dockerfile that is not in the
// project (the one-line Dockerfile of an image-only dev container, which
// tfdev keeps in its cache, never in the project).
const outsideDockerfile = ".tfdev-outside.Dockerfile"
