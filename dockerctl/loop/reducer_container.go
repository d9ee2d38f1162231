package loop

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The reducer's part that puts images into service and keeps the
// container alive: builds that end, containers that start, answer, die.

func (s *State) onBuilt(in Built, fx *effects) {
	s.building = false
	if s.quitting {
		return
	}
	defer s.startPending(fx)
	if in.Err != nil && s.lost && !s.retried {
		// Not the Dockerfile's fault: built again once the Engine is back.
		s.retried = true
		s.pending = append(s.pending, cmp.Or(in.Reason, "start")+" (again: the Engine went away during the build)")
		return
	}
	if in.Err != nil {
		fx.emit(buildFailedEvent(in.Err, s.project.Model.Name, s.cur != nil))
		return
	}
	s.retried = false
	res := in.Res
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
	if first && in.SyncCovers && s.cur != nil && !s.current() {
		// tfdev was away and the source changed: the running container
		// differs from the new image only in files tfdev syncs. It is kept,
		// with its kernels; the reattach's comparison syncs those files.
		s.matches, s.matchVia = res.ImageID, "syncs"
		fx.info("the running container differs from the new image only in files tfdev syncs: it is kept, with its kernels, and they are synced")
	}
	s.putInService(res, first, fx)
}

// putInService runs the built image: a first container, a reattach to the
// running one when it is current, or a replacement.
func (s *State) putInService(res *model.BuildResult, first bool, fx *effects) {
	switch {
	case s.cur == nil:
		if !s.lost {
			fx.add(Start{Project: s.project, Built: res})
		}
	case first && s.cfg.ReplaceNow && s.matches == res.ImageID && s.cur.Image != res.ImageID:
		fx.info("replacing the container, which matches this image through live installs (--replace-now)")
		s.replacing = true
		s.expected[s.cur.ID]++
		fx.add(Replace{Project: s.project, Old: s.cur, Built: res, Again: s.replaceAgain})
	case s.current() && first:
		// Edits made in the container while tfdev was away come home
		// first; then the host's changes go in.
		fx.add(Reattach{Project: s.project, C: s.cur, Built: res})
	case s.current():
		fx.info("the running container already has this image")
		fx.add(WriteState{Project: s.project, Built: res, C: s.cur, URL: s.cfg.url(s.cur), Live: s.matches, Via: s.matchVia})
	default:
		s.replacing = true
		s.expected[s.cur.ID]++
		fx.add(Replace{Project: s.project, Old: s.cur, Built: res, Again: s.replaceAgain})
	}
}

func (s *State) onStarted(in Started, fx *effects) {
	var carried []watcher.SyncItem
	var seen map[string]string
	if in.Old != nil {
		s.replacing = false
		carried, seen, s.carried, s.seen = s.carried, s.seen, nil, nil
		if in.Err != nil {
			s.expected[in.Old.ID]-- // a failed replacement never stops the old one
		}
	}
	defer s.startPending(fx)
	fx.rescued(in.Rescued, s.project.Dir)
	if in.Old != nil && in.Err == nil {
		s.replaceAgain = false
	}
	if in.Err != nil {
		if !s.lost {
			fx.fail(in.Err)
		}
		if in.Old != nil && in.Cut {
			// Not the image's fault: made again once the Engine answers.
			s.replaceAgain = true
			s.pending = append(s.pending, "again: the Engine went away during the replacement")
			fx.info("the Engine's loss cut the replacement short; the old container keeps serving, and the replacement is made again once the Engine answers")
		}
		if in.Old != nil {
			s.cur = in.Old // the old container serves again, perhaps on another port
			if len(seen) > 0 && !s.lost {
				fx.add(Pull{Project: s.project, C: s.cur, Sums: seen})
			}
		}
		return
	}
	// Edits synced into the old container while the new one started go
	// into the new one too, after it took over.
	defer func() {
		if len(carried) > 0 {
			fx.add(syncEffect(s.project, in.C, carried))
		}
	}()
	if s.cur == nil || in.C.ID != s.cur.ID {
		s.matches, s.matchVia = "", "" // a new container: made from its own image
	}
	s.cur, s.dead, s.resync, s.heldReady = in.C, false, false, false
	if !in.Reconciled { // every start reconciles, beside the loop
		s.reconcile(in.How, fx)
	}
	if in.Synced.Files+in.Synced.Removed > 0 {
		fx.emit(syncEvent(in.Synced, nil, 0, in.C))
	}
	fx.synced(in.Synced, s.project.Dir)
	msg := in.How + ", " + s.cfg.url(in.C)
	if in.C.Unpublished && in.C.HostPort != 0 {
		msg += fmt.Sprintf("; also published on the Engine's host at %s", net.JoinHostPort(model.DialHost(in.C.HostIP), strconv.Itoa(in.C.HostPort)))
	}
	gpu := in.C.GPU
	fx.emit(event.Event{Kind: event.Container, Container: in.C.Name, Image: in.C.Image, GPU: &gpu, Message: msg})
	fx.emit(event.Event{Kind: event.Jupyter, Container: in.C.Name})
	fx.add(WaitReady{Project: s.project, C: in.C})
	if s.cfg.Lifecycle && in.How != "reattached" {
		// Once ready: its files are in step then, the workspace there.
		s.lifecycle = &RunLifecycle{Project: s.project, C: in.C, Created: in.How == "new" || in.Old != nil}
	}
	if s.built != nil {
		fx.add(WriteState{Project: s.project, Built: s.built, C: in.C, URL: s.cfg.url(in.C), Live: s.matches, Via: s.matchVia})
	}
	if s.built != nil && in.C.Image == s.built.ImageID {
		fx.add(PruneImages{Project: s.project, Keep: []string{s.built.ImageID, s.prevImage}})
	}
}

func (s *State) onHealth(in Health, fx *effects) {
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting || (s.lost && in.Err != nil) {
		return // a container that no longer serves; or the Engine's loss, said already
	}
	var ue *model.UnreachableJupyterError
	switch {
	case in.Err == nil:
		fx.add(Serve{Project: s.project, C: in.C, URL: in.URL})
	case errors.As(in.Err, &ue):
		fx.emit(event.Event{Kind: event.Unreachable, Container: in.C.Name, Message: in.Err.Error(), Log: ue.Logs})
	default:
		fx.fail(in.Err)
	}
}

// onServing: users reach the container and its watch is in place; ready,
// once no reconcile is under way.
func (s *State) onServing(in Serving, fx *effects) {
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting {
		return
	}
	s.url, s.down, s.heldReady = in.URL, false, true
	s.releaseReady(fx)
}

func (s *State) onDeath(in Died, fx *effects) {
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
	fx.emit(event.Event{Kind: event.ContainerEnd, Container: s.cur.Name, Code: &code, Log: in.Logs})
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
	fx.add(Restart{C: s.cur, How: fmt.Sprintf("restarted after exit code %d", code)})
}

func (s *State) onEngine(in EngineState, fx *effects) {
	if in.Lost == s.lost {
		return
	}
	s.lost = in.Lost
	if in.Lost {
		msg := "the Engine does not answer"
		if in.Err != nil {
			msg = in.Err.Error()
		}
		fx.emit(event.Event{Kind: event.EngineLost, Engine: s.cfg.Engine, Message: msg})
		fx.add(Reconnect{})
		return
	}
	fx.emit(event.Event{Kind: event.EngineBack, Engine: s.cfg.Engine, Message: "checking the container and the files changed meanwhile"})
	if s.quitting {
		return
	}
	switch {
	case s.cur != nil:
		s.resync = false
		fx.add(Recover{Project: s.project, C: s.cur, Built: s.built})
	case s.built != nil && !s.building:
		fx.add(Start{Project: s.project, Built: s.built})
	}
	s.startPending(fx)
}

// planEvent lists the Dockerfile's steps for a UI.
func PlanEvent(p *dockerfile.Project) event.Event {
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
	var be *model.BuildError
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
func (s *State) onProbe(in Probed, fx *effects) {
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting {
		return
	}
	switch {
	case in.Err != nil && !s.down:
		s.down = true
		fx.emit(event.Event{Time: in.At, Kind: event.Down, Container: in.C.Name, Message: in.Err.Error()})
	case in.Err == nil && s.down:
		s.down = false
		fx.emit(event.Event{Time: in.At, Kind: event.Ready, Container: in.C.Name, URL: s.url})
	}
}
