package dockerctl

import (
	"context"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Backoff of the Engine reconnection: the first retry comes soon, then
// the wait doubles up to the cap.
const (
	reconnectFirst = 250 * time.Millisecond
	reconnectCap   = 4 * time.Second
	deathLogLines  = 15
	waitingEvery   = 30 * time.Second
)

// watchEngine feeds the loop the deaths of the project's containers, and
// turns a failed event stream into "engine lost", then, once the Engine
// answers again, "engine back" and a stream that resumes from the moment
// of the loss, so that no death is missed.
func (s *Session) watchEngine(ctx context.Context, dir string, out chan<- loop.Input) {
	var since time.Time
	for ctx.Err() == nil {
		deaths, errs := s.eng.Deaths(ctx, dir, since)
		err := s.forwardDeaths(ctx, deaths, errs, out)
		if ctx.Err() != nil {
			return
		}
		since = time.Now()
		if !send(ctx, out, loop.EngineState{Lost: true, Err: err}) || !waitForEngine(ctx, s.eng, nil) {
			return
		}
		if !send(ctx, out, loop.EngineState{Lost: false}) {
			return
		}
	}
}

// forwardDeaths passes deaths on, with the container's last log lines,
// until the stream fails (its error is returned) or ctx ends.
func (s *Session) forwardDeaths(ctx context.Context, deaths <-chan model.Death, errs <-chan error, out chan<- loop.Input) error {
	for {
		select {
		case d := <-deaths:
			// The logs only illustrate the death: without them the
			// restart still happens, so a failure to read them is not
			// worth a second error.
			logs, _ := s.eng.LastLogs(ctx, d.ID, deathLogLines)
			if !send(ctx, out, loop.Died{Death: d, Logs: logs}) {
				return nil
			}
		case err := <-errs:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// waitForEngine pings with backoff until the Engine answers; false when ctx
// ended first. waiting, when not nil, hears every waitingEvery how long it
// has been.
func waitForEngine(ctx context.Context, eng ports, waiting func(time.Duration)) bool {
	began := time.Now()
	told := began
	wait := reconnectFirst
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, engine.ConnectTimeout)
		err := eng.Ping(pctx)
		cancel()
		if err == nil {
			return true
		}
		if now := time.Now(); waiting != nil && now.Sub(told) >= waitingEvery {
			told = now
			waiting(now.Sub(began))
		}
		wait = min(2*wait, reconnectCap)
		t.Reset(wait)
	}
}

func send(ctx context.Context, out chan<- loop.Input, in loop.Input) bool {
	select {
	case out <- in:
		return true
	case <-ctx.Done():
		return false
	}
}
