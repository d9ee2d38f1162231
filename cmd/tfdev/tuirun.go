package main

import (
	"context"
	"errors"
	"os"
	"os/exec"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/tfdev-dev/tfdev/dockerctl"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/tui"
)

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// runWithTUI runs the session under the terminal UI. The UI quits when the
// session has stopped; the session's start-up error, if any, is returned
// after the terminal is restored.
func runWithTUI(ctx context.Context, eng *engine.Engine, opts dockerctl.SessionOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sess *dockerctl.Session
	env := tui.Env{
		Request: func(r event.Request) {
			select {
			case sess.Requests() <- r:
			default: // one of each pending is enough
			}
		},
		Quit: cancel,
		Logs: func() ([]string, error) {
			c, err := eng.Find(context.Background(), opts.Dir)
			if err != nil {
				return nil, err
			}
			if c == nil {
				return nil, errors.New("no running container")
			}
			return eng.LastLogs(context.Background(), c.ID, 500)
		},
		Open: openBrowser,
		Home: homeDir(),
		Copy: func(s string) error {
			termenv.Copy(s) // OSC 52: the terminal, even over ssh, puts it on the clipboard
			return nil
		},
	}
	p := tea.NewProgram(tui.New(env, nil), tea.WithAltScreen())
	opts.Emit = func(e event.Event) { p.Send(tui.EventMsg(e)) }
	sess = dockerctl.NewSession(eng, opts)
	errc := make(chan error, 1)
	go func() {
		err := sess.Run(ctx)
		errc <- err
		p.Quit()
	}()
	if _, err := p.Run(); err != nil {
		cancel()
		<-errc // the session stopped; the terminal's failure is the one to report
		return err
	}
	cancel()
	return <-errc
}

// openBrowser opens url with $BROWSER, else xdg-open.
func openBrowser(url string) error {
	name := os.Getenv("BROWSER")
	if name == "" {
		name = "xdg-open"
	}
	if _, err := exec.LookPath(name); err != nil {
		return errors.New("no browser: set $BROWSER, or copy the URL with c")
	}
	cmd := exec.Command(name, url)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }() // reaps the browser; its exit status is the browser's business
	return nil
}

// homeDir is the user's home directory, "" when unknown: the header then
// shows paths whole.
func homeDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return home
}
