package tui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii) // golden files hold no colour escapes
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func boolp(b bool) *bool { return &b }

// plan is the demo's Dockerfile, as the session lists it.
var plan = event.Event{Kind: event.Plan, File: "Dockerfile", Steps: []event.StepRow{
	{Index: 1, Stage: -1, Line: 3, Kind: "ARG", Instruction: "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter"},
	{Index: 2, Stage: 0, Target: true, Line: 4, Kind: "FROM", Instruction: "FROM ${BASE}"},
	{Index: 3, Stage: 0, Target: true, Line: 5, Kind: "WORKDIR", Instruction: "WORKDIR /tf"},
	{Index: 4, Stage: 0, Target: true, Line: 8, Kind: "COPY", Instruction: "COPY requirements.txt /tmp/requirements.txt"},
	{Index: 5, Stage: 0, Target: true, Line: 9, Kind: "RUN", Instruction: "RUN pip install --no-cache-dir -r /tmp/requirements.txt"},
	{Index: 6, Stage: 0, Target: true, Line: 12, Kind: "COPY", Instruction: "COPY . /tf", Sync: true},
}}

func project(gpu bool) event.Event {
	why := "no GPU: the Engine has no nvidia runtime"
	if gpu {
		why = "the Engine has the nvidia runtime"
	}
	return event.Event{Kind: event.Project, Time: at(0), Project: "/work/demo", Engine: "unix:///var/run/docker.sock", Builder: "BuildKit", GPU: boolp(gpu), Reason: why}
}

func step(sec float64, idx int, state event.StepState, secs float64) event.Event {
	instr := ""
	for _, s := range plan.Steps {
		if s.Index == idx {
			instr = s.Instruction
		}
	}
	return event.Event{Kind: event.BuildStep, Time: at(sec), Index: idx, Total: 6, Instruction: instr, State: state, Duration: time.Duration(secs * float64(time.Second))}
}

func pull(sec float64, layer string, current, total int64) event.Event {
	return event.Event{Kind: event.BuildPull, Time: at(sec), Index: 2, Image: "FROM ${BASE}", Layer: layer, Current: current, Total: int(total)}
}

const url = "http://127.0.0.1:8888/?token=46f720104effe81c2a0a46f2c41f2403"

func cachedStart() []event.Event {
	return []event.Event{
		project(false), plan,
		{Kind: event.BuildStart, Time: at(0), Reason: "start"},
		step(0.1, 2, "cached", 0), step(0.1, 3, "cached", 0), step(0.1, 4, "cached", 0), step(0.1, 5, "cached", 0), step(0.1, 6, "cached", 0),
		{Kind: event.BuildDone, Time: at(0.2), Image: "sha256:8e1077cb8120275409806ae373c56f17f2f88f29", Duration: 100 * time.Millisecond, Builder: "buildkit"},
		{Kind: event.Container, Time: at(0.5), Container: "tfdev-demo-91705390", Image: "sha256:8e1077cb8120275409806ae373c56f17f2f88f29", GPU: boolp(false), Message: "new, " + url},
		{Kind: event.Jupyter, Time: at(0.5)},
	}
}

func ready() event.Event {
	return event.Event{Kind: event.Ready, Time: at(1.6), URL: url}
}

var scenarios = map[string]struct {
	events []event.Event
	now    float64
}{
	"fresh-build": {[]event.Event{
		project(false), plan,
		{Kind: event.BuildStart, Time: at(0), Reason: "start"},
		step(0.1, 2, "cached", 0), step(0.2, 3, "running", 0), step(0.3, 3, "done", 0.1), step(0.3, 4, "running", 0),
		step(0.4, 4, "done", 0.1), step(0.4, 5, "running", 0),
	}, 12.5},
	"jupyter-starting":   {cachedStart(), 1},
	"cached-start-ready": {append(cachedStart(), ready()), 95},
	"sync": {append(cachedStart(), ready(),
		event.Event{Kind: event.Sync, Time: at(30), Files: 2, Bytes: 4100, Duration: 48 * time.Millisecond, Line: 12, Paths: []string{"train.py", "src/model.py"}}), 42},
	"stale-then-building": {append(cachedStart(), ready(),
		event.Event{Kind: event.Stale, Time: at(60), Line: 8, File: "Dockerfile", Instruction: "Dockerfile:8 COPY requirements.txt /tmp/requirements.txt", Paths: []string{"requirements.txt"}},
		event.Event{Kind: event.BuildStart, Time: at(60), Reason: "requirements.txt changed"},
		step(60.1, 2, "cached", 0), step(60.1, 3, "cached", 0), step(60.2, 4, "running", 0), step(60.3, 4, "done", 0.1), step(60.3, 5, "running", 0)), 64},
	"failed-build": {append(cachedStart(), ready(),
		event.Event{Kind: event.Stale, Time: at(60), Line: 8, File: "Dockerfile", Instruction: "Dockerfile:8 COPY requirements.txt /tmp/requirements.txt", Paths: []string{"requirements.txt"}},
		event.Event{Kind: event.BuildStart, Time: at(60), Reason: "requirements.txt changed"},
		step(60.1, 2, "cached", 0), step(60.1, 3, "cached", 0), step(60.2, 4, "done", 0.1), step(60.3, 5, "running", 0),
		event.Event{Kind: event.BuildFailed, Time: at(65), File: "Dockerfile", Line: 9, Message: "RUN pip install --no-cache-dir -r /tmp/requirements.txt: exit code 1; the old container is still serving", Log: []string{"ERROR: No matching distribution found for scipy==9.9"}}), 70},
	"engine-lost": {append(append(cachedStart(), ready()),
		event.Event{Kind: event.EngineLost, Time: at(90), Engine: "unix:///var/run/docker.sock", Message: "EOF"},
		event.Event{Kind: event.Down, Time: at(91), Container: "tfdev-demo-91705390", Message: "connection refused"}), 150},
	"replacing": {append(append(cachedStart(), ready()),
		event.Event{Kind: event.Phase, Time: at(60), State: event.StepRunning, Message: "replacing: waiting for the new container's Jupyter"}), 63},
	"gpu-ready": {append([]event.Event{project(true)}, append(cachedStart()[1:], ready())...), 95},
	"pulling-base": {[]event.Event{
		project(true), plan,
		{Kind: event.BuildStart, Time: at(0), Reason: "start"},
		step(0.1, 2, "running", 0),
		pull(1, "sha256:aa", 100e6, 600e6), pull(1, "sha256:bb", 20e6, 400e6),
		pull(11, "sha256:aa", 400e6, 600e6), pull(11, "sha256:bb", 220e6, 400e6),
	}, 11.5},
}

func TestRenderGolden(t *testing.T) {
	for name, sc := range scenarios {
		var s State
		for _, e := range sc.events {
			s.Apply(e)
		}
		for _, w := range []int{60, 100, 160} {
			got := Render(&s, Frame{Width: w, Height: 24, Now: at(sc.now), Spinner: "⠋"})
			for i, l := range strings.Split(got, "\n") {
				if lw := lipgloss.Width(l); lw > w {
					t.Errorf("%s@%d: line %d is %d wide: %q", name, w, i+1, lw, l)
				}
			}
			if n := strings.Count(got, "\n") + 1; n != 24 {
				t.Errorf("%s@%d: %d lines, want 24", name, w, n)
			}
			file := filepath.Join("testdata", fmt.Sprintf("%s-%d.golden", name, w))
			if *update {
				os.WriteFile(file, []byte(got), 0o644)
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./tui -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s@%d differs from %s:\n%s", name, w, file, got)
			}
		}
	}
}

func TestRenderTooSmall(t *testing.T) {
	var s State
	got := Render(&s, Frame{Width: 50, Height: 10, Now: t0})
	if !strings.Contains(got, "50x10") || !strings.Contains(got, "60x15") || lipgloss.Width(got) > 50 {
		t.Errorf("%q", got)
	}
	got = Render(&s, Frame{Width: 60, Height: 15, Now: t0})
	if n := strings.Count(got, "\n") + 1; n != 15 {
		t.Errorf("at the minimum size: %d lines", n)
	}
}

// The header shortens the project to ~ from the home directory it is
// given, never from the environment: the render is the same under any $HOME.
func TestHeaderHomeIsAnInput(t *testing.T) {
	var s State
	s.Apply(project(false))
	in := Render(&s, Frame{Width: 100, Height: 24, Now: at(1), Home: "/work"})
	if !strings.Contains(in, "~/demo") {
		t.Errorf("home /work: no ~/demo in\n%s", in)
	}
	t.Setenv("HOME", "/work")
	out := Render(&s, Frame{Width: 100, Height: 24, Now: at(1)})
	if strings.Contains(out, "~") || !strings.Contains(out, "/work/demo") {
		t.Errorf("no home given: the path is changed in\n%s", out)
	}
}

// A phase shows until it ends, or until what follows it (a quick phase
// ends without a word).
func TestPhaseShowsUntilItEnds(t *testing.T) {
	var s State
	s.Apply(event.Event{Kind: event.Phase, Time: at(1), State: event.StepRunning, Message: "creating and starting the container"})
	if s.Phase == "" || !strings.Contains(Render(&s, Frame{Width: 120, Height: 24, Now: at(4), Spinner: "⠋"}), "creating and starting the container 3s") {
		t.Fatalf("phase %q not shown", s.Phase)
	}
	s.Apply(event.Event{Kind: event.Container, Time: at(5), Container: "c"})
	if s.Phase != "" {
		t.Errorf("phase %q after the container started", s.Phase)
	}
	s.Apply(event.Event{Kind: event.Phase, Time: at(6), State: event.StepRunning, Message: "exporting the image"})
	s.Apply(event.Event{Kind: event.Phase, Time: at(30), State: event.StepDone, Message: "exporting the image", Duration: 24 * time.Second})
	if s.Phase != "" {
		t.Errorf("phase %q after it was done", s.Phase)
	}
}
