package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// Smallest usable terminal.
const (
	MinWidth  = 60
	MinHeight = 15
)

// Styles; lipgloss drops the colours under NO_COLOR or without a colour
// terminal, and render tests run with colour off.
var (
	stTitle   = lipgloss.NewStyle().Bold(true)
	stDim     = lipgloss.NewStyle().Faint(true)
	stOK      = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	stWarn    = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	stBad     = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	stRunning = lipgloss.NewStyle().Foreground(lipgloss.Color("6"))
)

// Frame is what a render needs besides the state: the terminal's size, the
// time, and the spinner's current frame.
type Frame struct {
	Width, Height int
	Now           time.Time
	Spinner       string
	Expanded      bool   // earlier build stages are shown step by step
	Home          string // the user's home directory, shortened to ~ in the header; "" leaves paths whole
}

// Render draws the main screen. It is pure: the same state and frame give
// the same string.
func Render(s *State, f Frame) string {
	if f.Width < MinWidth || f.Height < MinHeight {
		msg := fmt.Sprintf("tfdev: the terminal is %dx%d; it needs at least %dx%d (or run with --no-tui)",
			f.Width, f.Height, MinWidth, MinHeight)
		if f.Width < 1 {
			return ""
		}
		return lipgloss.NewStyle().Width(f.Width).Render(msg)
	}
	var top []string
	top = append(top, header(s, f)...)
	top = append(top, jupyterLine(s, f), containerLine(s, f))
	top = append(top, conflictLines(s, f)...)
	top = append(top, reloadLines(s, f)...)
	top = append(top, rule(f.Width))
	table := layerTable(s, f)
	keys := keyBar(f.Width)

	// The activity list takes what is left, at least two lines; the table
	// gives way first when the terminal is short.
	room := f.Height - len(top) - 1 /*rule*/ - 1 /*title*/ - 1 /*keys*/
	minActivity := 2
	if len(table) > room-minActivity {
		keep := room - minActivity
		if keep < 2 {
			keep = 2
		}
		table = truncateTable(table, keep)
	}
	actRoom := room - len(table)
	lines := append(top, table...)
	lines = append(lines, rule(f.Width), stTitle.Render("Activity"))
	lines = append(lines, activity(s, f, actRoom)...)
	for len(lines) < f.Height-1 {
		lines = append(lines, "")
	}
	lines = append(lines, keys)
	return strings.Join(lines, "\n")
}

func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

func rule(w int) string { return stDim.Render(strings.Repeat("─", w)) }

func header(s *State, f Frame) []string {
	project := s.Project
	if home := f.Home; home != "" && home != "/" && strings.HasPrefix(project, home+string(filepath.Separator)) {
		project = "~" + project[len(home):]
	}
	mode := stOK.Render("GPU")
	if !s.GPU {
		mode = stWarn.Render("CPU")
		if s.CPUReason != "" {
			mode += stDim.Render(" (" + s.CPUReason + ")")
		}
	}
	builder := s.Builder
	if builder == "" {
		builder = "BuildKit"
	}
	engine := fit(stDim.Render("engine ")+s.Engine+stDim.Render(" · ")+builder+stDim.Render(" · ")+mode, f.Width)
	if !s.EngineLost.IsZero() {
		engine = fit(stBad.Render("engine lost")+" "+s.Engine+stBad.Render(" since "+s.EngineLost.Format("15:04:05")+" ("+ago(f.Now.Sub(s.EngineLost))+")")+stDim.Render(" · reconnecting"), f.Width)
	}
	return []string{fit(stTitle.Render("tfdev")+"  "+project, f.Width), engine}
}

func jupyterLine(s *State, f Frame) string {
	state := s.Jupyter
	var badge string
	switch state {
	case "ready":
		badge = stOK.Render("● ready")
	case "starting", "restarting":
		badge = stRunning.Render(f.Spinner + " " + state)
		if !s.JupyterSince.IsZero() {
			badge += stRunning.Render(fmt.Sprintf(" %.0fs", f.Now.Sub(s.JupyterSince).Seconds()))
		}
	case "unreachable":
		badge = stBad.Render("✗ unreachable")
	case "down":
		badge = stBad.Render("✗ down since " + s.DownSince.Format("15:04:05"))
	default:
		badge = stDim.Render("○ no container yet")
	}
	url := s.URL
	if url == "" || state != "ready" {
		url = ""
	}
	if s.Phase != "" {
		url += stRunning.Render(fmt.Sprintf("  %s %s %.0fs", f.Spinner, s.Phase, f.Now.Sub(s.PhaseSince).Seconds()))
	}
	return fit(stTitle.Render("Jupyter   ")+badge+"  "+url, f.Width)
}

func containerLine(s *State, f Frame) string {
	if s.Container == "" {
		return fit(stTitle.Render("Container ")+stDim.Render("none"), f.Width)
	}
	parts := []string{s.Container, containerState(s)}
	if s.ContainerState == "running" && !s.ContainerSince.IsZero() {
		parts = append(parts, "up "+ago(f.Now.Sub(s.ContainerSince)))
	}
	switch {
	case s.Live != "":
		parts = append(parts, s.Live+stDim.Render(" (R: replace)"))
	case s.Image != "":
		img := "image " + event.ShortID(s.Image)
		if !s.BuiltAt.IsZero() {
			img += " built " + ago(f.Now.Sub(s.BuiltAt)) + " ago"
		}
		parts = append(parts, img)
	}
	return fit(stTitle.Render("Container ")+strings.Join(parts, stDim.Render(" · ")), f.Width)
}

func containerState(s *State) string {
	switch {
	case s.ContainerState == "running":
		return stOK.Render("running")
	case strings.HasPrefix(s.ContainerState, "exited"):
		return stBad.Render(s.ContainerState)
	default:
		return s.ContainerState
	}
}

// layerTable lists the target stage's steps; earlier stages fold into one
// row each.
func layerTable(s *State, f Frame) []string {
	if len(s.Rows) == 0 {
		return []string{stDim.Render("(reading the Dockerfile)")}
	}
	stateW := 28
	if f.Width >= 100 {
		stateW = 40
	}
	instrW := f.Width - 4 - 2 - stateW
	out := []string{stDim.Render(fmt.Sprintf("%3s  %-*s  %s", "#", instrW, "STEP", "STATE"))}
	seen := map[int]bool{}
	for _, r := range s.Rows {
		if !r.Target {
			if seen[r.Stage] {
				continue
			}
			seen[r.Stage] = true
			n, st := s.stageSummary(r.Stage)
			fold := "▸"
			if f.Expanded {
				fold = "▾"
			}
			text := fmt.Sprintf("%s stage %s (%d steps)", fold, r.StageName, n)
			out = append(out, fmt.Sprintf("%3s  %s  %s", "", pad(fit(text, instrW), instrW), fit(st, stateW)))
			if f.Expanded {
				for _, sr := range s.Rows {
					if sr.Stage == r.Stage {
						out = append(out, fmt.Sprintf("%3d  %s  %s", sr.Index, pad(fit("  "+sr.Instruction, instrW), instrW), fit(rowState(s, sr, f), stateW)))
					}
				}
			}
			continue
		}
		out = append(out, fmt.Sprintf("%3d  %s  %s", r.Index, pad(fit(r.Instruction, instrW), instrW), fit(rowState(s, r, f), stateW)))
	}
	return out
}

// stageSummary is the folded state of an earlier stage: the worst of its rows.
func (s *State) stageSummary(stage int) (int, string) {
	n := 0
	rank := map[string]int{"": 0, RowCached: 1, RowBuilt: 2, RowStale: 3, RowBuilding: 4, RowFailed: 5}
	worst := ""
	for _, r := range s.Rows {
		if r.Stage == stage {
			n++
			if rank[r.State] > rank[worst] {
				worst = r.State
			}
		}
	}
	return n, worst
}

func rowState(s *State, r Row, f Frame) string {
	switch st := s.RowState(r); st {
	case RowCached:
		return stDim.Render("cached")
	case RowBuilt:
		return stOK.Render("built " + dur(r.Duration))
	case RowBuilding:
		if r.Pull != nil {
			return stRunning.Render(pullBar(r.Pull, f))
		}
		return stRunning.Render(f.Spinner + " building " + dur(f.Now.Sub(r.Since)))
	case RowFailed:
		return stBad.Render(fmt.Sprintf("failed (line %d)", r.Line))
	case RowStale:
		by := ""
		if len(r.StaleBy) > 0 {
			by = " (" + strings.Join(r.StaleBy, ", ") + ")"
		}
		return stWarn.Render("stale" + by)
	case RowLive:
		if r.Synced == 0 {
			return stOK.Render("live")
		}
		return stOK.Render(fmt.Sprintf("live · %d %s, %s ago", r.Synced, plural(r.Synced), ago(f.Now.Sub(r.LastSync))))
	default:
		switch r.Kind {
		case "FROM", "RUN", "COPY", "ADD", "WORKDIR":
			return stDim.Render("–")
		}
		return stDim.Render("config") // ENV, CMD, EXPOSE...: image settings, no layer
	}
}

// pullBar is a FROM row's download: "[■■■■■·····] 52% 45.0 MB/s 25s",
// its figures as the state column has room for them.
func pullBar(m *event.PullMeter, f Frame) string {
	cur, total := m.Totals()
	if total <= 0 {
		return f.Spinner + " pulling"
	}
	pct := int(cur * 100 / total)
	n := 10
	if f.Width >= 100 {
		n = 16
	}
	fill := min(n, pct*n/100)
	s := "[" + strings.Repeat("■", fill) + strings.Repeat("·", n-fill) + fmt.Sprintf("] %d%%", pct)
	if r := m.Rate(); r > 0 {
		s += " " + event.HumanBytes(int64(r)) + "/s"
	}
	if left := m.Left(); left > 0 && f.Width >= 100 {
		s += " " + left.Round(time.Second).String()
	}
	return s
}

func truncateTable(t []string, keep int) []string {
	if len(t) <= keep {
		return t
	}
	// Keep the head and the last rows: the final steps are where syncs land.
	out := append([]string{}, t[:1]...)
	rest := keep - 2
	out = append(out, stDim.Render(fmt.Sprintf("  … %d more", len(t)-1-rest)))
	return append(out, t[len(t)-rest:]...)
}

func activity(s *State, f Frame, n int) []string {
	if n <= 0 {
		return nil
	}
	items := s.Activity
	if len(items) > n {
		items = items[len(items)-n:]
	}
	var out []string
	for _, it := range items {
		line := stDim.Render(it.Time.Format("15:04:05")) + " " + it.Text
		if it.Err {
			line = stDim.Render(it.Time.Format("15:04:05")) + " " + stBad.Render(it.Text)
		}
		out = append(out, fit(line, f.Width))
	}
	return out
}

func keyBar(w int) string {
	if w < 80 {
		return fit(stDim.Render("r rebuild s resync o open c copy l logs b build ? q quit"), w)
	}
	return fit(stDim.Render("r rebuild  s resync  o open  c copy URL  l logs  b build log  ? help  q quit"), w)
}

// HelpText is the help screen.
func HelpText(w int) string {
	lines := []string{
		stTitle.Render("tfdev keys"),
		"",
		"  r   rebuild now (cached)",
		"  s   full resync: diff the tree against the container",
		"  R   replace the container by one of the current image (after a",
		"      live install; its kernels restart)",
		"  o   open the Jupyter URL in a browser ($BROWSER or xdg-open)",
		"  c   copy the Jupyter URL (OSC 52, works over ssh)",
		"  l   the container's logs (follows; ↑/↓ PgUp/PgDn to scroll)",
		"  b   the last build's log",
		"  e   show or fold the earlier build stages",
		"  ?   this help",
		"  q   quit: rescue files, stop the container (kept with --keep)",
		"",
		"States: cached, stale (a change invalidates it), building, built,",
		"failed, live (files are synced into the running container).",
		"",
		stDim.Render("esc or ? to go back"),
	}
	for i := range lines {
		lines[i] = fit(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

func pad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m" // minutes are enough, and the idle screen is redrawn each half minute
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func plural(n int) string {
	if n == 1 {
		return "file"
	}
	return "files"
}

// reloadLines name each module a kernel could not reload, with why and
// what to do: at most three, then a count.
func reloadLines(s *State, f Frame) []string {
	return boundedLines(f, len(s.ReloadFailures), "module(s) not reloaded", func(i int) string {
		r := s.ReloadFailures[i]
		k := r.Kernel
		if len(k) > 8 {
			k = k[:8]
		}
		what := r.Module
		if what == "" {
			what = "(the change)"
		}
		return stBad.Render("Reload    ") + fmt.Sprintf("kernel %s, %s: %s; %s", k, what, r.Why, r.Fix)
	})
}

// conflictLines name each file changed on both sides and not merged yet,
// with both copies: at most three, then a count.
func conflictLines(s *State, f Frame) []string {
	return boundedLines(f, len(s.Conflicts), "conflict(s): tfdev status lists them", func(i int) string {
		c := s.Conflicts[i]
		return stBad.Render("Conflict  ") + fmt.Sprintf("%s: yours in place, the container's at %s; save either to resolve", c.File, c.Copy)
	})
}

// boundedLines are the lines line(0..n-1), each fitted to the frame: at
// most three, then "and N more <more>".
func boundedLines(f Frame, n int, more string, line func(int) string) []string {
	const most = 3
	var out []string
	for i := 0; i < n; i++ {
		if i == most {
			out = append(out, fit(stBad.Render(fmt.Sprintf("          and %d more %s", n-most, more)), f.Width))
			break
		}
		out = append(out, fit(line(i), f.Width))
	}
	return out
}
