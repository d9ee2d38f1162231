package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// silenceLimit: no wait longer than this goes by without a visible phase.
const silenceLimit = 2 * time.Second

// silentWaits reads a session's JSON events and lists every stretch
// longer than silenceLimit in which the user waited for something with
// nothing on the screen saying what, as the terminal UI shows it: no
// phase under way (its line ends at its own end or at the next milestone,
// as the TUI's does), no build step running, Jupyter not starting (its
// line counts the seconds), no live install step running, the Engine not
// lost; and tfdev was not idle (Jupyter ready, no build running). It
// checks the events' own times, as tfdev wrote them: it asserts how tfdev
// reports, not how fast anything is.
func silentWaits(lines []string) ([]string, error) {
	var out []string
	var prev event.Event
	var w screen
	for i, l := range lines {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			return nil, fmt.Errorf("line %d is not a JSON event: %q", i+1, l)
		}
		if i > 0 && e.Time.Sub(prev.Time) > silenceLimit && !w.shows() {
			out = append(out, fmt.Sprintf("%.1f s of silence after %s", e.Time.Sub(prev.Time).Seconds(), lines[i-1]))
		}
		w.apply(e)
		prev = e
	}
	return out, nil
}

// screen is what the terminal UI shows as under way.
type screen struct {
	phase                              string
	step, starting, replay, lost, busy bool
	ready                              bool
}

func (w *screen) shows() bool {
	return w.phase != "" || w.step || w.starting || w.replay || w.lost || (w.ready && !w.busy)
}

func (w *screen) apply(e event.Event) {
	switch e.Kind {
	case event.BuildStart, event.BuildDone, event.BuildFailed, event.Container, event.Ready, event.Unreachable, event.Stop, event.Error:
		w.phase = "" // the TUI's phase enders
	}
	switch e.Kind {
	case event.Phase:
		if e.State == event.StepRunning {
			w.phase = e.Message
		} else if w.phase == e.Message {
			w.phase = ""
		}
	case event.BuildStep:
		w.step = e.State == event.StepRunning
	case event.ReplayStep:
		w.replay = e.State == event.StepRunning
	case event.BuildStart:
		w.busy = true
	case event.BuildDone, event.BuildFailed:
		w.busy, w.step = false, false
	case event.Container, event.Jupyter:
		w.starting, w.ready = true, false
	case event.Ready:
		w.starting, w.ready = false, true
	case event.Unreachable, event.Down, event.ContainerEnd:
		w.starting, w.ready = false, false
	case event.EngineLost:
		w.lost = true
	case event.EngineBack:
		w.lost = false
	}
}

func TestSilentWaits(t *testing.T) {
	at := func(s float64, e string) string {
		t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		return fmt.Sprintf(`{"time":%q,%s}`, t0.Add(time.Duration(s*float64(time.Second))).Format(time.RFC3339Nano), e)
	}
	for _, c := range []struct {
		name   string
		lines  []string
		silent int
	}{
		{"a long step and a long export, both shown", []string{
			at(0, `"event":"build.start"`), at(0.1, `"event":"build.step","state":"running"`),
			at(30, `"event":"build.step","state":"done"`), at(30.1, `"event":"phase","state":"running","message":"exporting"`),
			at(50, `"event":"build.done"`), at(50.1, `"event":"jupyter.starting"`), at(60, `"event":"jupyter.ready"`),
			at(600, `"event":"sync"`),
		}, 0},
		{"an export with no word", []string{
			at(0, `"event":"build.start"`), at(0.1, `"event":"build.step","state":"running"`),
			at(3, `"event":"build.step","state":"done"`), at(20, `"event":"build.done"`),
		}, 1},
		{"before the first ready, a quiet phase end then silence", []string{
			at(0, `"event":"phase","state":"running","message":"doctor"`), at(0.5, `"event":"phase","state":"done","message":"doctor"`),
			at(14, `"event":"build.start"`),
		}, 1},
		{"Jupyter starting, counted on its line, while a comparison ends beside it", []string{
			at(0, `"event":"container.start"`), at(0.1, `"event":"jupyter.starting"`),
			at(0.2, `"event":"phase","state":"running","message":"comparing"`), at(2, `"event":"phase","state":"done","message":"comparing"`),
			at(13, `"event":"jupyter.ready"`),
		}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := silentWaits(c.lines)
			if err != nil || len(got) != c.silent {
				t.Errorf("silent stretches %q (%v), want %d", got, err, c.silent)
			}
		})
	}
}
