package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// recorder is an Env that records what the model asked for.
type recorder struct {
	requests []event.Request
	quits    int
	opened   []string
	copied   []string
}

func (r *recorder) env() Env {
	return Env{
		Request: func(q event.Request) { r.requests = append(r.requests, q) },
		Quit:    func() { r.quits++ },
		Logs:    func() ([]string, error) { return []string{"[I NotebookApp] Serving notebooks from /tf"}, nil },
		Open:    func(u string) error { r.opened = append(r.opened, u); return nil },
		Copy:    func(u string) error { r.copied = append(r.copied, u); return nil },
	}
}

// run feeds messages through Update, running every command it returns
// (and the commands those return, once), as the bubbletea runtime would.
func run(m Model, msgs ...tea.Msg) (Model, []tea.Msg) {
	var out []tea.Msg
	for _, msg := range msgs {
		next, cmd := m.Update(msg)
		m = next.(Model)
		if cmd != nil {
			if res := cmd(); res != nil {
				out = append(out, res)
				if _, isTick := res.(logsTick); !isTick {
					if n, _ := m.Update(res); n != nil {
						m = n.(Model)
					}
				}
			}
		}
	}
	return m, out
}

func key(s string) tea.KeyMsg {
	switch s {
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func events(es ...event.Event) []tea.Msg {
	out := make([]tea.Msg, len(es))
	for i, e := range es {
		out[i] = EventMsg(e)
	}
	return out
}

func TestEventsMakeRowsAndStates(t *testing.T) {
	var rec recorder
	m := New(rec.env(), func() timeT { return at(70) })
	m, _ = run(m, events(append(cachedStart(), ready(),
		event.Event{Kind: event.Sync, Time: at(30), Files: 1, Line: 12, Paths: []string{"train.py"}},
		event.Event{Kind: event.Stale, Time: at(60), Line: 8, Paths: []string{"requirements.txt"}},
		event.Event{Kind: event.BuildStart, Time: at(60), Reason: "requirements.txt changed"},
		step(60.1, 4, "running", 0))...)...)
	st := m.State
	if len(st.Rows) != 5 {
		t.Fatalf("%d rows (global ARGs are not rows)", len(st.Rows))
	}
	want := map[int]string{2: RowCached, 3: RowCached, 4: RowBuilding, 5: RowStale, 6: RowStale}
	for _, r := range st.Rows {
		if got := st.RowState(r); got != want[r.Index] {
			t.Errorf("step %d: %q, want %q", r.Index, got, want[r.Index])
		}
	}
	if st.Rows[4].Synced != 1 || st.URL != url || st.Jupyter != "ready" || !st.Building {
		t.Errorf("state %+v", st)
	}
	if !m.spinning {
		t.Error("no spinner while building")
	}
	// The build finishes: the synced step is live again.
	m, _ = run(m, events(step(61, 4, "done", 0.5), step(62, 5, "done", 1), step(62, 6, "done", 0.1),
		event.Event{Kind: event.BuildDone, Time: at(62), Image: "sha256:abc", Duration: 2 * time.Second})...)
	if got := m.State.RowState(m.State.Rows[4]); got != RowLive {
		t.Errorf("after the build: %q", got)
	}
	// With nothing running, spinner ticks stop.
	m, _ = run(m, tea.Msg(m.spin.Tick()))
	if m.spinning {
		t.Error("the spinner keeps ticking when nothing runs")
	}
}

func TestKeysMakeRequests(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	m, _ = run(m, key("r"), key("s"), key("R"), key("o"), key("c"))
	if len(rec.requests) != 3 || rec.requests[0] != event.RequestRebuild || rec.requests[1] != event.RequestResync || rec.requests[2] != event.RequestReplace {
		t.Errorf("requests %v", rec.requests)
	}
	if len(rec.opened) != 1 || rec.opened[0] != url || len(rec.copied) != 1 || rec.copied[0] != url {
		t.Errorf("opened %v copied %v", rec.opened, rec.copied)
	}
	if m.flash != "URL copied" {
		t.Errorf("flash %q", m.flash)
	}

	// l shows the container's logs; esc goes back.
	m, out := run(m, key("l"))
	if m.view != viewLogs || !strings.Contains(m.View(), "Serving notebooks") {
		t.Errorf("logs view: %q", m.View())
	}
	if len(out) == 0 {
		t.Error("no logs fetched")
	}
	m, _ = run(m, key("esc"), key("?"))
	if m.view != viewHelp || !strings.Contains(m.View(), "rebuild now") {
		t.Error("no help")
	}
	m, _ = run(m, key("esc"), key("b"))
	if m.view != viewBuildLog || !strings.Contains(m.View(), "COPY . /tf") {
		t.Errorf("build log: %q", m.View())
	}
	m, _ = run(m, key("esc"))

	// q stops the session, then quits when the session says it stopped.
	m, _ = run(m, key("q"))
	if rec.quits != 1 || !m.quitting {
		t.Fatalf("quits %d", rec.quits)
	}
	_, cmd := m.Update(EventMsg(event.Event{Kind: event.Stop, Time: at(99), Message: "stopped container"}))
	if cmd == nil || cmd() != tea.Quit() {
		t.Error("no quit after the stop event")
	}
}

func TestSecondQuitIsImmediate(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, key("ctrl+c"))
	_, cmd := m.Update(key("ctrl+c"))
	if cmd == nil || cmd() != tea.Quit() || rec.quits != 1 {
		t.Errorf("second Ctrl-C: quits %d", rec.quits)
	}
}

func TestResizeReflows(t *testing.T) {
	m := New(Env{}, func() timeT { return at(95) })
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	m, _ = run(m, tea.WindowSizeMsg{Width: 60, Height: 15})
	small := m.View()
	m, _ = run(m, tea.WindowSizeMsg{Width: 160, Height: 40})
	big := m.View()
	if strings.Count(small, "\n") != 14 || strings.Count(big, "\n") != 39 || small == big {
		t.Errorf("no reflow:\n%s\n---\n%s", small, big)
	}
	m, _ = run(m, tea.WindowSizeMsg{Width: 40, Height: 10})
	if !strings.Contains(m.View(), "40x10") || !strings.Contains(m.View(), "60x15") {
		t.Errorf("too small: %q", m.View())
	}
}

type timeT = time.Time

// Earlier stages fold into one row; e shows their steps.
func TestEarlierStagesFoldAndExpand(t *testing.T) {
	multi := event.Event{Kind: event.Plan, File: "Dockerfile", Steps: []event.StepRow{
		{Index: 1, Stage: 0, StageName: "builder", Line: 1, Kind: "FROM", Instruction: "FROM base AS builder"},
		{Index: 2, Stage: 0, StageName: "builder", Line: 3, Kind: "COPY", Instruction: "COPY requirements.txt ."},
		{Index: 3, Stage: 0, StageName: "builder", Line: 4, Kind: "RUN", Instruction: "RUN pip install --user -r requirements.txt"},
		{Index: 4, Stage: 1, StageName: "stage-1", Target: true, Line: 6, Kind: "FROM", Instruction: "FROM base"},
		{Index: 5, Stage: 1, StageName: "stage-1", Target: true, Line: 8, Kind: "COPY", Instruction: "COPY --from=builder /root/.local /root/.local"},
		{Index: 6, Stage: 1, StageName: "stage-1", Target: true, Line: 9, Kind: "COPY", Instruction: "COPY . /app", Sync: true},
	}}
	m := New(Env{}, func() timeT { return at(10) })
	m, _ = run(m, tea.WindowSizeMsg{Width: 100, Height: 30}, EventMsg(project(false)), EventMsg(multi),
		EventMsg(step(1, 3, "running", 0)))
	folded := m.View()
	if !strings.Contains(folded, "▸ stage builder (3 steps)") || strings.Contains(folded, "pip install --user") {
		t.Errorf("folded:\n%s", folded)
	}
	if !strings.Contains(folded, "building") {
		t.Errorf("the folded row does not show the stage's worst state:\n%s", folded)
	}
	m, _ = run(m, key("e"))
	if open := m.View(); !strings.Contains(open, "▾ stage builder") || !strings.Contains(open, "    RUN pip install --user -r requirements.txt") {
		t.Errorf("expanded:\n%s", open)
	}
	m, _ = run(m, key("e"))
	if m.View() != folded {
		t.Error("e again does not fold")
	}
}

// The header names the builder that actually ran.
func TestHeaderNamesTheBuilderThatRan(t *testing.T) {
	var s State
	s.Apply(project(false))
	s.Apply(event.Event{Kind: event.BuildDone, Time: at(1), Builder: "legacy"})
	if s.Builder != "legacy builder" || !strings.Contains(Render(&s, Frame{Width: 100, Height: 24, Now: at(2)}), "legacy builder") {
		t.Errorf("builder %q", s.Builder)
	}
}

// A live install: its steps show as the phase under way, their output in
// the step's log, and the container line says what it now matches.
func TestLiveInstallIsShown(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	row := m.State.Rows[len(m.State.Rows)-2]
	m, _ = run(m, events(event.Event{Kind: event.ReplayStep, Time: at(70), Index: row.Index, Line: row.Line, Instruction: "RUN pip install -r requirements.txt", State: event.StepRunning})...)
	if m.State.Phase != "live install: RUN pip install -r requirements.txt" {
		t.Errorf("phase %q", m.State.Phase)
	}
	m, _ = run(m, events(event.Event{Kind: event.ReplayStep, Time: at(71), Index: row.Index, Instruction: "RUN pip install -r requirements.txt", State: event.StepRunning, Log: []string{"Collecting tiny"}})...)
	if m.State.Phase != "live install: RUN pip install -r requirements.txt · Collecting tiny" || !m.State.PhaseSince.Equal(at(70)) {
		t.Errorf("streamed: phase %q since %v", m.State.Phase, m.State.PhaseSince)
	}
	m, _ = run(m, events(
		event.Event{Kind: event.ReplayStep, Time: at(74), Index: row.Index, Instruction: "RUN pip install -r requirements.txt", State: event.StepDone, Log: []string{"Successfully installed tiny-1.0"}},
		event.Event{Kind: event.Live, Time: at(90), Container: "tfdev-demo", Message: "image 1a2b3c4d5e6f + live install (matches image 9f8e7d6c5b4a)"})...)
	if m.State.Phase != "" || m.State.Rows[len(m.State.Rows)-2].Log[0] != "Successfully installed tiny-1.0" {
		t.Errorf("phase %q, log %v", m.State.Phase, m.State.Rows[len(m.State.Rows)-2].Log)
	}
	m, _ = run(m, tea.WindowSizeMsg{Width: 160, Height: 40})
	if view := m.View(); !strings.Contains(view, "live install (matches image 9f8e7d6c5b4a)") {
		t.Errorf("the container line does not say it:\n%s", view)
	}
}

// A conflict stays on the screen, naming both copies, until a save on
// either side resolves it.
func TestConflictShownUntilResolved(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	m, _ = run(m, tea.WindowSizeMsg{Width: 160, Height: 40})
	conflict := event.Event{Kind: event.Rescue, Time: at(70), Conflict: true, File: "notebooks/explore.ipynb", From: "/tf/notebooks/explore.ipynb", To: ".tfdev/conflicts/20261128-120110/notebooks/explore.ipynb"}
	m, _ = run(m, events(conflict, event.Event{Kind: event.Sync, Time: at(80), Files: 1, Paths: []string{"train.py"}})...)
	want := "notebooks/explore.ipynb: yours in place, the container's at .tfdev/conflicts/20261128-120110/notebooks/explore.ipynb; save either to resolve"
	if view := m.View(); !strings.Contains(view, want) {
		t.Fatalf("no conflict line:\n%s", view)
	}
	m, _ = run(m, events(event.Event{Kind: event.Resolved, Time: at(90), File: "notebooks/explore.ipynb", Reason: "saved on the host, sent to the container"})...)
	if view := m.View(); strings.Contains(view, want) || !strings.Contains(view, "conflict resolved: notebooks/explore.ipynb") {
		t.Errorf("after the resolution:\n%s", view)
	}
}

// What a replacement did with each kernel is on the screen: the names
// carried, and the names left with why.
func TestKernelsCarriedAreShown(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	m, _ = run(m, events(
		event.Event{Kind: event.KernelCarried, Time: at(80), Kernel: "263cd661-63aa-4ab7", Names: []string{"model", "weights"}, Bytes: 8_000_000, Duration: 1200 * time.Millisecond,
			Pickler: "dill", Left: map[string]string{"log": "an open file: open it again in the new kernel"}},
		event.Event{Kind: event.KernelRestarted, Time: at(81), Kernel: "9f00aa11-22", Reason: "it was running a cell", Message: "an empty kernel takes its place under its ID"})...)
	m, _ = run(m, tea.WindowSizeMsg{Width: 220, Height: 40})
	view := m.View()
	for _, want := range []string{
		"kernel 263cd661 carried into the new container: 2 names (8.0 MB, 1.2s, dill); not carried 1: log (an open file",
		"kernel 9f00aa11: its variables were not carried: it was running a cell",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("the screen does not say %q:\n%s", want, view)
		}
	}
}

// A module a kernel could not reload stays on the screen, with why and
// what to do, until a later save reloads it in that kernel.
func TestReloadFailureShownUntilReloaded(t *testing.T) {
	var rec recorder
	m := New(rec.env(), nil)
	m, _ = run(m, events(append(cachedStart(), ready())...)...)
	m, _ = run(m, tea.WindowSizeMsg{Width: 220, Height: 40})
	m, _ = run(m, events(event.Event{Kind: event.ReloadFailed, Time: at(80), Kernel: "263cd661-63aa", Module: "model",
		Message: "SyntaxError: invalid syntax (model.py, line 3)", Fix: "fix it and save again"})...)
	want := "kernel 263cd661, model: SyntaxError: invalid syntax (model.py, line 3); fix it and save again"
	if view := m.View(); !strings.Contains(view, "Reload") || !strings.Contains(view, want) {
		t.Errorf("the failure is not shown:\n%s", view)
	}
	m, _ = run(m, events(event.Event{Kind: event.KernelReload, Time: at(81), Kernel: "other", Modules: []string{"model"}})...)
	if len(m.State.ReloadFailures) != 1 {
		t.Errorf("another kernel's reload cleared it: %v", m.State.ReloadFailures)
	}
	m, _ = run(m, events(event.Event{Kind: event.KernelReload, Time: at(82), Kernel: "263cd661-63aa", Modules: []string{"model"}})...)
	if len(m.State.ReloadFailures) != 0 {
		t.Errorf("still shown after a clean reload: %v", m.State.ReloadFailures)
	}
}
