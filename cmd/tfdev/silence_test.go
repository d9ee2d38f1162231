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
// nothing on the screen saying what: the event before the stretch
// announced no work under way (a phase, a build step, Jupyter starting, an
// Engine lost), and tfdev was not idle (Jupyter ready, no build running).
// It checks the events' own times, as tfdev wrote them: it asserts how
// tfdev reports, not how fast anything is.
func silentWaits(lines []string) ([]string, error) {
	var out []string
	var prev event.Event
	building, ready := false, false
	for i, l := range lines {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			return nil, fmt.Errorf("line %d is not a JSON event: %q", i+1, l)
		}
		if i > 0 && e.Time.Sub(prev.Time) > silenceLimit && !announcesWork(prev) && (building || !ready) {
			out = append(out, fmt.Sprintf("%.1f s of silence after %s", e.Time.Sub(prev.Time).Seconds(), lines[i-1]))
		}
		switch e.Kind {
		case event.BuildStart:
			building = true
		case event.BuildDone, event.BuildFailed:
			building = false
		case event.Ready:
			ready = true
		case event.Container, event.Jupyter, event.Down, event.EngineLost, event.ContainerEnd:
			ready = false
		}
		prev = e
	}
	return out, nil
}

// announcesWork: an event after which the screen shows work under way,
// with its elapsed time.
func announcesWork(e event.Event) bool {
	switch e.Kind {
	case event.Phase, event.BuildStep:
		return e.State == event.StepRunning
	case event.BuildStart, event.Jupyter, event.EngineLost, event.RescueProgress:
		return true
	}
	return false
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
			at(0, `"event":"phase","state":"running","message":"doctor"`), at(0.5, `"event":"doctor"`),
			at(14, `"event":"build.start"`),
		}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := silentWaits(c.lines)
			if err != nil || len(got) != c.silent {
				t.Errorf("silent stretches %q (%v), want %d", got, err, c.silent)
			}
		})
	}
}
