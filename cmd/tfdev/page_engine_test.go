package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// The notebook page in a real browser: Debian's chromium, headless,
// driven through the DevTools protocol (chromedp). What a person sees is
// read from the page's own JavaScript (Jupyter.notebook, its kernel, its
// events) and its DOM (a modal dialog shown). The browser tests share one
// browser, started by the first of them and ended after the package's
// tests; each opens a tab of its own.

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// needBrowser is a new tab of the shared browser; with
// TFDEV_REQUIRE_ENGINE=1 a machine without chromium fails the test.
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	needEngine(t)
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			t.Fatal("chromium is not installed: make deps installs Debian's")
		}
		t.Skip("no chromium: the page tests need a browser (make deps installs Debian's)")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx, browser.cancel = bctx, func() { bcancel(); acancel() }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("starting chromium: %v", browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx)
	t.Cleanup(cancel)
	return tab
}

// notebookPage is a notebook open in a tab.
type notebookPage struct {
	t   *testing.T
	tab context.Context
}

// pageRecorder records, in the page, what a person would notice: every
// modal dialog shown (its title), the kernel's events that say it is in
// trouble, and the saves and failed saves.
const pageRecorder = `(() => {
  const w = window, ev = Jupyter.notebook.events;
  w.tfdev = {modals: [], kernel: [], starts: 0, saved: 0, saveFailed: []};
  ev.on('kernel_starting.Kernel', () => w.tfdev.starts++);
  ev.on('kernel_dead.Kernel kernel_connection_failed.Kernel kernel_connection_dead.Kernel kernel_restarting.Kernel kernel_autorestarting.Kernel kernel_killed.Kernel', (e) => w.tfdev.kernel.push(e.type));
  ev.on('notebook_saved.Notebook', () => w.tfdev.saved++);
  ev.on('notebook_save_failed.Notebook', (e, err) => w.tfdev.saveFailed.push(String((err && (err.message || err.statusText)) || err)));
  const look = () => document.querySelectorAll('.modal').forEach(m => {
    if (m.classList.contains('in') || getComputedStyle(m).display === 'block') {
      const title = (m.querySelector('.modal-title') || m).textContent.trim();
      if (!w.tfdev.modals.includes(title)) w.tfdev.modals.push(title);
    }
  });
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class', 'style']});
  return true;
})()`

// openNotebook opens the URL tfdev printed (its token buys the door's
// cookie), then the notebook at path with the cookie alone, as a person
// does, and waits for its kernel.
func openNotebook(t *testing.T, tab context.Context, readyURL, path string) *notebookPage {
	t.Helper()
	base, _ := splitURL(t, readyURL)
	p := &notebookPage{t: t, tab: tab}
	p.do("opening the URL", chromedp.Navigate(readyURL))
	p.do("opening the notebook", chromedp.Navigate(base+"/notebooks/"+path))
	p.waitFor("the notebook's kernel connected", `window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()`)
	if _, err := chromedp.Run(p.bounded(), chromedp.Evaluate[bool](pageRecorder)); err != nil {
		t.Fatal(err)
	}
	// The recorder sees a dialog: one of the page's own, shown and closed.
	var shown bool
	p.eval(`requirejs(['base/js/dialog'], d => d.modal({title: 'tfdev recorder check', body: 'x', buttons: {OK: {}}})), true`, &shown)
	p.waitFor("the recorder to see a dialog", `window.tfdev.modals.includes('tfdev recorder check')`)
	p.eval(`$('.modal').modal('hide'), true`, &shown)
	p.waitFor("the dialog to close", `![...document.querySelectorAll('.modal')].some(m => m.classList.contains('in') || getComputedStyle(m).display === 'block')`)
	p.eval(`window.tfdev.modals = [], true`, &shown)
	return p
}

func (p *notebookPage) bounded() context.Context {
	ctx, cancel := context.WithTimeout(p.tab, 3*time.Minute) // a bound, not a timing assertion
	p.t.Cleanup(cancel)
	return ctx
}

func (p *notebookPage) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.bounded(), steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *notebookPage) waitFor(what, predicate string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.bounded(), chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		p.t.Fatalf("waiting for %s: %v", what, err)
	}
}

func (p *notebookPage) eval(js string, out any) {
	p.t.Helper()
	v, err := chromedp.Run(p.bounded(), chromedp.Evaluate[json.RawMessage](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", js, err)
	}
	if err := json.Unmarshal(v, out); err != nil {
		p.t.Fatalf("%s: %v", v, err)
	}
}

// cell runs code in a new cell at the bottom, as Shift-Enter does, and
// returns what it printed (or the error it raised).
func (p *notebookPage) cell(code string) string {
	p.t.Helper()
	var out string
	p.eval(`new Promise((resolve) => {
  const nb = Jupyter.notebook, cell = nb.insert_cell_at_bottom('code');
  cell.set_text(`+jsString(code)+`);
  const done = (e, d) => {
    if (d.cell !== cell) return;
    nb.events.off('finished_execute.CodeCell', done);
    resolve(cell.output_area.outputs.map(o => o.output_type === 'stream' ? o.text :
      o.output_type === 'error' ? o.ename + ': ' + o.evalue : JSON.stringify(o.data || {})).join('').trim());
  };
  nb.events.on('finished_execute.CodeCell', done);
  nb.select(nb.find_cell_index(cell));
  cell.execute();
})`, &out)
	return out
}

// start runs code in a new cell and returns at once; finished waits for
// it and returns what it printed or raised.
func (p *notebookPage) start(code string) {
	p.t.Helper()
	var ok bool
	p.eval(`(() => {
  const nb = Jupyter.notebook, cell = nb.insert_cell_at_bottom('code');
  cell.set_text(`+jsString(code)+`);
  window.tfdev.running = null;
  const done = (e, d) => {
    if (d.cell !== cell) return;
    nb.events.off('finished_execute.CodeCell', done);
    window.tfdev.running = cell.output_area.outputs.map(o => o.output_type === 'stream' ? o.text :
      o.output_type === 'error' ? o.ename + ': ' + o.evalue : JSON.stringify(o.data || {})).join('').trim();
  };
  nb.events.on('finished_execute.CodeCell', done);
  cell.execute();
  return true;
})()`, &ok)
}

func (p *notebookPage) finished() string {
	p.t.Helper()
	p.waitFor("the running cell to finish", `window.tfdev.running !== null`)
	var out string
	p.eval(`window.tfdev.running`, &out)
	return out
}

// save presses Ctrl-S and waits for the page to say saved (or failed).
func (p *notebookPage) save() []string {
	p.t.Helper()
	var before int
	p.eval(`Jupyter.notebook.command_mode(), document.activeElement && document.activeElement.blur(), window.tfdev.saved`, &before)
	p.do("pressing Ctrl-S", chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	p.waitFor("the save", fmt.Sprintf(`window.tfdev.saved > %d || window.tfdev.saveFailed.length > 0`, before))
	var failed []string
	p.eval(`window.tfdev.saveFailed`, &failed)
	return failed
}

// state is what a person would have noticed so far.
type pageState struct {
	Kernel    string   `json:"kernel"`
	Connected bool     `json:"connected"`
	Modals    []string `json:"modals"`
	Events    []string `json:"events"`
	Indicator string   `json:"indicator"`
	Starts    int      `json:"starts"`
}

func (p *notebookPage) state() pageState {
	p.t.Helper()
	var s pageState
	p.eval(`({kernel: Jupyter.notebook.kernel.id, connected: Jupyter.notebook.kernel.is_connected(),
  modals: window.tfdev.modals, events: window.tfdev.kernel, starts: window.tfdev.starts, indicator: document.querySelector('#kernel_indicator_icon').className})`, &s)
	return s
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// pageProject is a project whose Jupyter serves the project's own folder
// (WORKDIR /tf, COPY . .), so a notebook saved in the page comes home to
// the project: a module the notebook imports and the notebook itself.
func pageProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "page")
	nb := `{"cells": [], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}`
	for name, body := range map[string]string{
		"Dockerfile": "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nWORKDIR /tf\n" +
			"COPY requirements.txt requirements.txt\nRUN pip install --no-index -r requirements.txt\nCOPY . .\n",
		"requirements.txt": "numpy==1.24.2\n",
		"helper.py":        "def version():\n    return 'v1'\n",
		"work.ipynb":       nb,
		".dockerignore":    ".tfdev\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	cleanupProject(t, dir)
	return dir
}

// The page a person has open survives everything tfdev does behind the
// URL: a module edit (reloaded in the kernel), a requirements edit (a live
// install), a Dockerfile edit (a new container; the kernel carried), the
// Engine cut for 20 s and back, and tfdev killed with -9 and started again
// on the same port. After each, in the same page, never reloaded: the next
// cell runs in the same kernel with the notebook's variables, no dialog
// was shown, the kernel was never said dead or lost, and Ctrl-S saves:
// the notebook on the host has what the page holds.
func TestThePageSurvivesEverything(t *testing.T) {
	tab := needBrowser(t)
	dir := pageProject(t)
	proxy := startProxy(t)
	env := []string{"DOCKER_HOST=" + proxy.host()}
	up := startUpEnv(t, dir, testimage.Jupyter, env, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	page := openNotebook(t, tab, ready.URL, "work.ipynb")
	kernel := page.state().Kernel
	if out := page.cell("import helper\nsecret = 4242\nprint(secret, helper.version())"); out != "4242 v1" {
		t.Fatalf("the first cell: %q", out)
	}

	saves := 0
	check := func(after, version string, up *upProcess) {
		t.Helper()
		if out := page.cell("print(secret, helper.version())"); out != "4242 "+version {
			t.Errorf("after %s the next cell printed %q, want %q", after, out, "4242 "+version)
		}
		s := page.state()
		if s.Kernel != kernel || !s.Connected || len(s.Modals) != 0 || len(s.Events) != 0 {
			t.Errorf("after %s the page shows %+v (kernel %s before)", after, s, kernel)
		}
		saves++
		marker := fmt.Sprintf("saved after %s (%d)", after, saves)
		page.cell("# " + marker)
		if failed := page.save(); len(failed) != 0 {
			t.Errorf("after %s Ctrl-S failed: %v", after, failed)
			return
		}
		up.nextEvent(event.Rescue, func(e event.Event) bool {
			b, _ := os.ReadFile(filepath.Join(dir, "work.ipynb"))
			return strings.HasSuffix(e.To, "work.ipynb") && strings.Contains(string(b), marker)
		})
	}

	writeTestFile(t, filepath.Join(dir, "helper.py"), "def version():\n    return 'v2'\n")
	up.nextEvent(event.KernelReload, nil)
	check("a module edit", "v2", up)

	writeTestFile(t, filepath.Join(dir, "requirements.txt"), "numpy==1.24.2\n# installed live\n")
	up.nextEvent(event.ReplayDone, nil)
	check("a live install", "v2", up)

	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	writeTestFile(t, filepath.Join(dir, "Dockerfile"), strings.Replace(string(df), "COPY . .", "ENV REPLACED=1\nCOPY . .", 1))
	up.nextEvent(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "replaced ") })
	up.nextEvent(event.Ready, nil)
	check("a replacement", "v2", up)

	proxy.cut()
	up.nextEvent(event.EngineLost, nil)
	if out := page.cell("print(secret + 1)"); out != "4243" {
		t.Errorf("a cell while the Engine is away: %q", out)
	}
	<-time.After(20 * time.Second) // the cut lasts 20 s: the scenario, not a wait for something
	proxy.restore()
	up.nextEvent(event.EngineBack, nil)
	check("the Engine cut for 20 s", "v2", up)

	u, _ := url.Parse(ready.URL)
	up.cmd.Process.Kill()
	<-up.done
	again := startUpEnv(t, dir, testimage.Jupyter, env, "--output", "json", "--port", u.Port())
	if r, _ := again.nextEvent(event.Ready, nil); r.URL != ready.URL {
		t.Errorf("the URL after the restart: %s, was %s", r.URL, ready.URL)
	}
	check("tfdev killed and started again", "v2", again)

	// A kernel busy with a cell is not carried: an empty kernel takes its
	// place under its ID, and the page shows a restart, not a dead
	// kernel. The cell under way is answered with why; the next runs.
	page.start("import time\ntime.sleep(600)")
	page.waitFor("the kernel busy", `Jupyter.notebook.kernel._msg_callbacks && document.querySelector('#kernel_indicator_icon').className.includes('busy')`)
	df, _ = os.ReadFile(filepath.Join(dir, "Dockerfile"))
	writeTestFile(t, filepath.Join(dir, "Dockerfile"), strings.Replace(string(df), "ENV REPLACED=1", "ENV REPLACED=2", 1))
	if e, _ := again.nextEvent(event.KernelRestarted, nil); e.Kernel != kernel {
		t.Errorf("kernel.restarted: %+v, want kernel %s", e, kernel)
	}
	again.nextEvent(event.Ready, nil)
	if out := page.finished(); !strings.Contains(out, "restarted empty") {
		t.Errorf("the cell under way at the replacement: %q", out)
	}
	if out := page.cell("print(1 + 1, 'secret' in dir())"); out != "2 False" {
		t.Errorf("the next cell after the restart: %q", out)
	}
	s := page.state()
	if s.Kernel != kernel || !s.Connected || len(s.Modals) != 0 || len(s.Events) != 0 || s.Starts == 0 {
		t.Errorf("after the restart the page shows %+v (kernel %s before)", s, kernel)
	}
	if failed := page.save(); len(failed) != 0 {
		t.Errorf("after the restart Ctrl-S failed: %v", failed)
	}
	again.stop()
}
