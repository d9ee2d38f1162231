package dockerctl

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The reducer's part that puts images into service and keeps the
// container alive: builds that end, containers that start, answer, die.

func (s *loopState) onBuilt(in inBuilt, fx *effects) {
	s.building = false
	if s.quitting {
		return
	}
	defer s.startPending(fx)
	if in.err != nil && s.lost && !s.retried {
		// Not the Dockerfile's fault: built again once the Engine is back.
		s.retried = true
		s.pending = append(s.pending, cmp.Or(in.reason, "start")+" (again: the Engine went away during the build)")
		return
	}
	if in.err != nil {
		fx.emit(buildFailedEvent(in.err, s.project.Model.Name, s.cur != nil))
		return
	}
	s.retried = false
	res := in.res
	fx.emit(res.DoneEvent())
	first := s.built == nil
	if !first && s.built.ImageID != res.ImageID {
		s.prevImage = s.built.ImageID
	}
	s.built = res
	s.halted, s.deaths = false, nil // a new image: its crashes count afresh
	if s.liveCovers(in, fx) {
		return
	}
	s.putInService(res, first, fx)
}

// putInService runs the built image: a first container, a reattach to the
// running one when it is current, or a replacement.
func (s *loopState) putInService(res *BuildResult, first bool, fx *effects) {
	switch {
	case s.cur == nil:
		if !s.lost {
			fx.add(effStart{project: s.project, built: res})
		}
	case first && s.cfg.ReplaceNow && s.matches == res.ImageID && s.cur.Image != res.ImageID:
		fx.info("replacing the container, which matches this image through live installs (--replace-now)")
		s.replacing = true
		s.expected[s.cur.ID]++
		fx.add(effReplace{project: s.project, old: s.cur, built: res})
	case s.current() && first:
		// Edits made in the container while tfdev was away come home
		// first; then the host's changes go in.
		fx.add(effReattach{project: s.project, c: s.cur, built: res})
	case s.current():
		fx.info("the running container already has this image")
		fx.add(effWriteState{project: s.project, built: res, c: s.cur, url: s.cfg.url(s.cur), live: s.matches})
	default:
		s.replacing = true
		s.expected[s.cur.ID]++
		fx.add(effReplace{project: s.project, old: s.cur, built: res})
	}
}

func (s *loopState) onStarted(in inStarted, fx *effects) {
	if in.old != nil {
		s.replacing = false
		if in.err != nil {
			s.expected[in.old.ID]-- // a failed replacement never stops the old one
		}
	}
	defer s.startPending(fx)
	fx.rescued(in.rescued, s.project.Dir)
	if in.err != nil {
		if !s.lost {
			fx.fail(in.err)
		}
		if in.old != nil {
			s.cur = in.old // the old container serves again, perhaps on another port
		}
		return
	}
	if s.cur == nil || in.c.ID != s.cur.ID {
		s.matches = "" // a new container: made from its own image
	}
	s.cur, s.dead, s.resync, s.heldReady = in.c, false, false, false
	if !in.reconciled { // every start reconciles, beside the loop
		s.reconcile(in.how, fx)
	}
	if in.synced.Files+in.synced.Removed > 0 {
		fx.emit(syncEvent(in.synced, nil, 0, in.c))
	}
	fx.synced(in.synced, s.project.Dir)
	msg := in.how + ", " + s.cfg.url(in.c)
	if in.c.Unpublished && in.c.HostPort != 0 {
		msg += fmt.Sprintf("; also published on the Engine's host at %s", net.JoinHostPort(dialHost(in.c.HostIP), strconv.Itoa(in.c.HostPort)))
	}
	gpu := in.c.GPU
	fx.emit(event.Event{Kind: event.Container, Container: in.c.Name, Image: in.c.Image, GPU: &gpu, Message: msg})
	fx.emit(event.Event{Kind: event.Jupyter, Container: in.c.Name})
	fx.add(effWaitReady{project: s.project, c: in.c})
	if s.built != nil {
		fx.add(effWriteState{project: s.project, built: s.built, c: in.c, url: s.cfg.url(in.c), live: s.matches})
	}
	if s.built != nil && in.c.Image == s.built.ImageID {
		fx.add(effPruneImages{project: s.project, keep: []string{s.built.ImageID, s.prevImage}})
	}
}

func (s *loopState) onHealth(in inHealth, fx *effects) {
	if s.cur == nil || in.c.ID != s.cur.ID || s.quitting || (s.lost && in.err != nil) {
		return // a container that no longer serves; or the Engine's loss, said already
	}
	var ue *UnreachableJupyterError
	switch {
	case in.err == nil:
		fx.add(effServe{project: s.project, c: in.c, url: in.url})
	case errors.As(in.err, &ue):
		fx.emit(event.Event{Kind: event.Unreachable, Container: in.c.Name, Message: in.err.Error(), Log: ue.Logs})
	default:
		fx.fail(in.err)
	}
}

// onServing: users reach the container and its watch is in place; ready,
// once no reconcile is under way.
func (s *loopState) onServing(in inServing, fx *effects) {
	if s.cur == nil || in.c.ID != s.cur.ID || s.quitting {
		return
	}
	s.url, s.down, s.heldReady = in.url, false, true
	s.releaseReady(fx)
}

func (s *loopState) onDeath(in inDeath, fx *effects) {
	if s.expected[in.ID] > 0 {
		s.expected[in.ID]--
		return // tfdev stopped it
	}
	if s.cur == nil || in.ID != s.cur.ID || s.quitting {
		return
	}
	if !in.At.IsZero() && !s.cur.Started.IsZero() && in.At.Before(s.cur.Started) {
		return // a death before its latest start, replayed after an Engine loss
	}
	code := in.Code
	s.dead = true
	fx.emit(event.Event{Kind: event.ContainerEnd, Container: s.cur.Name, Code: &code, Log: in.logs})
	recent := make([]time.Time, 0, len(s.deaths)+1)
	for _, t := range s.deaths {
		if in.At.Sub(t) < deathWindow {
			recent = append(recent, t)
		}
	}
	s.deaths = append(recent, in.At)
	if len(s.deaths) >= maxDeaths || s.halted {
		s.halted = true
		fx.fail(fmt.Errorf("the container died %d times within %v; not restarting it. Fix the cause, then save a file that needs a rebuild or ask for one", len(s.deaths), deathWindow))
		return
	}
	if s.lost {
		return // checked when the Engine is back
	}
	fx.add(effRestart{c: s.cur, how: fmt.Sprintf("restarted after exit code %d", code)})
}

func (s *loopState) onEngine(in inEngine, fx *effects) {
	if in.lost == s.lost {
		return
	}
	s.lost = in.lost
	if in.lost {
		msg := "the Engine does not answer"
		if in.err != nil {
			msg = in.err.Error()
		}
		fx.emit(event.Event{Kind: event.EngineLost, Engine: s.cfg.Engine, Message: msg})
		fx.add(effReconnect{})
		return
	}
	fx.emit(event.Event{Kind: event.EngineBack, Engine: s.cfg.Engine, Message: "checking the container and the files changed meanwhile"})
	if s.quitting {
		return
	}
	switch {
	case s.cur != nil:
		s.resync = false
		fx.add(effRecover{project: s.project, c: s.cur, built: s.built})
	case s.built != nil && !s.building:
		fx.add(effStart{project: s.project, built: s.built})
	}
	s.startPending(fx)
}

// planEvent lists the Dockerfile's steps for a UI.
func planEvent(p *dockerfile.Project) event.Event {
	m := p.Model
	syncLines := map[int]bool{}
	for _, r := range p.Rules.Steps {
		if r.Action == watcher.Sync {
			syncLines[r.Line] = true
		}
	}
	var rows []event.StepRow
	for i, st := range m.AllSteps() {
		row := event.StepRow{Index: i + 1, Stage: st.Stage, Line: st.Line, Kind: st.Kind, Instruction: st.Text, Sync: syncLines[st.Line]}
		if st.Stage >= 0 {
			row.StageName = m.Stages[st.Stage].Label(st.Stage)
			row.Target = st.Stage == m.Target
		}
		rows = append(rows, row)
	}
	return event.Event{Kind: event.Plan, Steps: rows, File: m.Name}
}

// buildFailedEvent says where a build (or reading the project for one)
// failed, and that the old container still serves when there is one.
func buildFailedEvent(err error, dockerfileName string, serving bool) event.Event {
	tail := "; fix it and save, or ask for a rebuild"
	if serving {
		tail = "; the old container is still serving"
	}
	var be *BuildError
	var se *dockerfile.SyntaxError
	var pe *watcher.PatternError
	switch {
	case errors.As(err, &pe):
		return event.Event{Kind: event.BuildFailed, File: pe.File, Line: pe.Line, Message: fmt.Sprintf("bad pattern %q: %v", pe.Pattern, pe.Err) + tail}
	case errors.As(err, &be):
		return event.Event{Kind: event.BuildFailed, File: be.File, Line: be.Line, Instruction: be.Instruction, Message: be.Detail() + tail, Log: be.Log}
	case errors.As(err, &se):
		return event.Event{Kind: event.BuildFailed, File: se.File, Line: se.Line, Message: se.Msg + tail}
	default:
		return event.Event{Kind: event.BuildFailed, File: dockerfileName, Message: err.Error() + tail}
	}
}

// onProbe follows Jupyter's answers while the session runs: "down" when it
// stops answering, "ready" again when it answers.
func (s *loopState) onProbe(in inProbe, fx *effects) {
	if s.cur == nil || in.c.ID != s.cur.ID || s.quitting {
		return
	}
	switch {
	case in.err != nil && !s.down:
		s.down = true
		fx.emit(event.Event{Time: in.at, Kind: event.Down, Container: in.c.Name, Message: in.err.Error()})
	case in.err == nil && s.down:
		s.down = false
		fx.emit(event.Event{Time: in.at, Kind: event.Ready, Container: in.c.Name, URL: s.url})
	}
}
