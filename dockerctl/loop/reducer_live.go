package loop

import (
	"fmt"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// The reducer's part for live installs: a dependency change that the
// Dockerfile lets tfdev replay is installed in the running container (its
// kernels live on) while the real build runs; when that build is done the
// container is not replaced, it is recorded as matching the new image.

type liveState int

const (
	liveNone    liveState = iota
	liveRunning           // the install runs in the container
	liveOK                // it ended well; the build that covers it may still run
	liveFailed            // it failed: the covering build replaces the container as usual
)

// liveRun follows one live install and the build that catches the image up.
type liveRun struct {
	state liveState
	cover int    // the number of the build that includes the change
	held  *Built // that build, done before the install: decided when the install ends
}

// current: the container runs the last build's image, or matches it
// through a live install.
func (s *State) current() bool {
	return s.cur != nil && s.built != nil && (s.cur.Image == s.built.ImageID || s.matches == s.built.ImageID)
}

// replayLive starts a live install of the dependency changes when the
// policy, the container and the Dockerfile allow, and says why not when
// the Dockerfile does not.
func (s *State) replayLive(ds []watcher.Decision, fx *effects) bool {
	if s.cfg.Deps == DepsRebuild || s.dead || s.lost || s.replacing || s.building || s.url == "" || !s.current() {
		return false
	}
	var paths []string
	for _, d := range ds {
		paths = append(paths, d.Path)
	}
	if s.live.state == liveRunning {
		fx.info("a live install is under way: %s is rebuilt and replaced instead", strings.Join(paths, ", "))
		return false
	}
	plan, err := s.project.Model.Replay(paths, s.project.Rules)
	if err != nil {
		fx.info("not installed live (%v): rebuilding and replacing the container", err)
		return false
	}
	s.live = liveRun{state: liveRunning, cover: s.builds + 1}
	fx.add(Replay{Project: s.project, C: s.cur, Plan: plan, Changed: paths})
	return true
}

// liveCovers decides a finished build while a live install is under way
// or done: the covering build is held until the install ends, or recorded
// as the image the container now matches; an older one is only recorded.
func (s *State) liveCovers(in Built, fx *effects) bool {
	if s.live.state != liveRunning && s.live.state != liveOK {
		return false
	}
	switch {
	case in.Seq < s.live.cover:
		fx.info("image %s built; the container's live install is ahead of it, and the build that includes it follows", event.ShortID(in.Res.ImageID))
		return true
	case in.Seq > s.live.cover:
		return false
	case s.live.state == liveRunning:
		s.live.held = &in
		return true
	}
	s.acceptLive(in.Res, fx)
	return true
}

// acceptLive records the new image as the project's current one, which
// the running container matches through its live install: no replacement.
func (s *State) acceptLive(res *model.BuildResult, fx *effects) {
	s.live = liveRun{}
	s.matches, s.matchVia = res.ImageID, "live installs"
	fx.emit(event.Event{Kind: event.Live, Container: s.cur.Name, Image: res.ImageID,
		Message: fmt.Sprintf("image %s + live install (matches image %s)", event.ShortID(s.cur.Image), event.ShortID(res.ImageID))})
	fx.add(WriteState{Project: s.project, Built: res, C: s.cur, URL: s.cfg.url(s.cur), Live: res.ImageID, Via: "live installs"})
	fx.add(PruneImages{Project: s.project, Keep: []string{res.ImageID, s.cur.Image}})
}

// onReplayed: the install ended. A failure is said at its Dockerfile line
// and falls back to the rebuild and replacement (the container serves
// meanwhile).
func (s *State) onReplayed(in Replayed, fx *effects) {
	held := s.live.held
	if s.cur == nil || in.C.ID != s.cur.ID || s.quitting {
		s.live = liveRun{}
		return
	}
	if in.Err != nil {
		s.live.state, s.live.held = liveFailed, nil
		e := event.Event{Kind: event.Error, File: s.project.Model.Name,
			Message: fmt.Sprintf("live install failed: %v; rebuilding and replacing the container instead (it keeps serving meanwhile)", in.Err)}
		if re, ok := in.Err.(*model.ReplayError); ok {
			e.Line, e.Instruction, e.Log = re.Line, re.Instruction, re.Log
		}
		fx.emit(e)
		if held != nil {
			s.live = liveRun{}
			s.putInService(held.Res, false, fx)
		}
		return
	}
	s.live.state = liveOK
	fx.emit(event.Event{Kind: event.ReplayDone, Container: s.cur.Name, Message: in.Summary, Paths: in.Changed, Restart: in.Restart})
	for _, k := range in.Kernels {
		fx.emit(importsEvent(k, in.Restart))
	}
	if held != nil {
		s.acceptLive(held.Res, fx)
	}
}

// replaceNow replaces a container whose live installs make it match the
// current image by one made from that image (the user's request).
func (s *State) replaceNow(fx *effects) {
	switch {
	case s.cur == nil || s.built == nil || s.cur.Image == s.built.ImageID:
		fx.info("nothing to replace: the container runs the current image")
	case s.replacing || s.building || s.lost || s.live.state == liveRunning:
		fx.info("not now: a build, a replacement or a live install is under way; ask again when it is done")
	default:
		s.replacing = true
		s.expected[s.cur.ID]++
		fx.add(Replace{Project: s.project, Old: s.cur, Built: s.built, Again: s.replaceAgain})
	}
}
