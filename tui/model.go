package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// Env is how the model acts on the world; the command line provides it.
// Every call runs inside a tea.Cmd, never in Update.
type Env struct {
	Request func(event.Request)      // rebuild now, resync
	Quit    func()                   // stop the session, as Ctrl-C does
	Logs    func() ([]string, error) // the container's last lines
	Open    func(url string) error   // a browser
	Copy    func(text string) error  // the clipboard (OSC 52)
	Home    string                   // the user's home directory: the header shortens it to ~
}

// EventMsg carries one session event into the program.
type EventMsg event.Event

// Views.
const (
	viewMain = iota
	viewHelp
	viewLogs
	viewBuildLog
)

type logsMsg struct {
	lines []string
	err   error
}

type logsTick struct{}

// clockTick redraws the idle screen so that "up 3m" and "2m ago" move on.
type clockTick struct{}

const clockEvery = 30 * time.Second

func tickClock() tea.Cmd {
	return tea.Tick(clockEvery, func(time.Time) tea.Msg { return clockTick{} })
}

type flashMsg string

// Model is the bubbletea model: view state only.
type Model struct {
	State    State
	env      Env
	width    int
	height   int
	now      func() time.Time
	spin     spinner.Model
	spinning bool
	view     int
	expanded bool // earlier stages shown step by step
	pager    viewport.Model
	flash    string
	quitting bool
}

// New makes a model; now may be nil (time.Now).
func New(env Env, now func() time.Time) Model {
	if now == nil {
		now = time.Now
	}
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	return Model{env: env, now: now, spin: sp, width: 80, height: 24, pager: viewport.New(80, 20)}
}

// Init starts the half-minute clock; otherwise the model renders on
// events, keys and spinner ticks while something runs.
func (m Model) Init() tea.Cmd { return tickClock() }

// animating: something runs whose progress the spinner shows.
func (m Model) animating() bool {
	return m.State.Building || m.State.Jupyter == "starting" || m.State.Jupyter == "restarting" || m.State.Phase != ""
}

// Update applies a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.pager.Width, m.pager.Height = msg.Width, max(msg.Height-2, 1)
		return m, nil
	case EventMsg:
		m.State.Apply(event.Event(msg))
		if !m.quitting {
			m.flash = "" // a key's note lasts until something happens
		}
		if m.State.Stopped && m.quitting {
			return m, tea.Quit
		}
		return m, m.startSpinner()
	case spinner.TickMsg:
		if !m.animating() {
			m.spinning = false
			return m, nil // stop ticking: nothing runs, nothing to redraw
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case logsMsg:
		if m.view != viewLogs {
			return m, nil
		}
		text := strings.Join(msg.lines, "\n")
		if msg.err != nil {
			text = "could not read the logs: " + msg.err.Error()
		}
		atBottom := m.pager.AtBottom()
		m.pager.SetContent(text)
		if atBottom {
			m.pager.GotoBottom() // follow
		}
		return m, tea.Tick(time.Second, func(time.Time) tea.Msg { return logsTick{} })
	case clockTick:
		return m, tickClock()
	case logsTick:
		if m.view == viewLogs {
			return m, m.fetchLogs()
		}
		return m, nil
	case flashMsg:
		m.flash = string(msg)
		return m, nil
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) startSpinner() tea.Cmd {
	if m.animating() && !m.spinning {
		m.spinning = true
		return m.spin.Tick
	}
	return nil
}

func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	s := k.String()
	if m.view != viewMain {
		switch s {
		case "esc", "q", "?", "l", "b":
			if s == "q" && m.view == viewHelp {
				break
			}
			m.view = viewMain
			return m, nil
		case "ctrl+c":
			return m.quit()
		}
		var cmd tea.Cmd
		m.pager, cmd = m.pager.Update(k)
		return m, cmd
	}
	switch s {
	case "r":
		m.flash = "rebuild requested"
		return m, m.request(event.RequestRebuild)
	case "s":
		m.flash = "full resync requested"
		return m, m.request(event.RequestResync)
	case "R":
		m.flash = "replacement requested"
		return m, m.request(event.RequestReplace)
	case "o":
		return m, m.withURL("opened in a browser", m.env.Open)
	case "c":
		return m, m.withURL("URL copied", m.env.Copy)
	case "l":
		m.view = viewLogs
		m.pager.SetContent("reading the container's logs…")
		return m, m.fetchLogs()
	case "b":
		m.view = viewBuildLog
		m.pager.SetContent(m.buildLog())
		m.pager.GotoBottom()
		return m, nil
	case "?":
		m.view = viewHelp
		return m, nil
	case "e":
		m.expanded = !m.expanded
		return m, nil
	case "q", "ctrl+c":
		return m.quit()
	}
	return m, nil
}

func (m Model) quit() (tea.Model, tea.Cmd) {
	if m.quitting || m.State.Stopped {
		return m, tea.Quit // a second q or Ctrl-C: at once
	}
	m.quitting = true
	m.flash = "stopping: rescuing files and stopping the container…"
	quit := m.env.Quit
	return m, func() tea.Msg {
		if quit != nil {
			quit()
		}
		return nil
	}
}

func (m Model) request(r event.Request) tea.Cmd {
	req := m.env.Request
	return func() tea.Msg {
		if req != nil {
			req(r)
		}
		return nil
	}
}

func (m Model) withURL(done string, fn func(string) error) tea.Cmd {
	url := m.State.URL
	return func() tea.Msg {
		if url == "" {
			return flashMsg("no Jupyter URL yet")
		}
		if fn == nil {
			return flashMsg("not available here")
		}
		if err := fn(url); err != nil {
			return flashMsg(err.Error())
		}
		return flashMsg(done)
	}
}

func (m Model) fetchLogs() tea.Cmd {
	logs := m.env.Logs
	return func() tea.Msg {
		if logs == nil {
			return logsMsg{err: errNoLogs}
		}
		lines, err := logs()
		return logsMsg{lines: lines, err: err}
	}
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoLogs = constError("no container")

// buildLog is the last build's output, step by step.
func (m Model) buildLog() string {
	var b strings.Builder
	for _, r := range m.State.Rows {
		if r.State == "" {
			continue
		}
		b.WriteString(r.Instruction + "  [" + r.State + "]\n")
		for _, l := range r.Log {
			b.WriteString("  | " + l + "\n")
		}
	}
	if b.Len() == 0 {
		return "no build yet"
	}
	return b.String()
}

// View renders the current view.
func (m Model) View() string {
	f := Frame{Width: m.width, Height: m.height, Now: m.now(), Spinner: m.spin.View(), Expanded: m.expanded, Home: m.env.Home}
	switch m.view {
	case viewHelp:
		return HelpText(m.width)
	case viewLogs, viewBuildLog:
		title := "container logs (following)"
		if m.view == viewBuildLog {
			title = "last build"
		}
		return stTitle.Render(fit(title, m.width)) + "\n" + m.pager.View() + "\n" + stDim.Render(fit("↑/↓ PgUp/PgDn scroll · esc back", m.width))
	}
	out := Render(&m.State, f)
	if m.flash != "" && m.width >= MinWidth && m.height >= MinHeight {
		lines := strings.Split(out, "\n")
		lines[len(lines)-1] = fit(stWarn.Render(m.flash), m.width)
		out = strings.Join(lines, "\n")
	}
	return out
}
