package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// appProject writes a project shaped like the public ones that lost
// notebooks: the code goes to /app while the base image's Jupyter serves
// /tf, so a notebook made in Jupyter maps to no project path.
func appProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app-vs-tf")
	files := map[string]string{
		// Jupyter serves /tf, the code is in /app: the Dockerfile says so
		// with a command of its own (an inherited one serving /tf would be
		// made to serve /app).
		"Dockerfile": "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nWORKDIR /app\n" +
			"COPY requirements.txt requirements.txt\nRUN pip install --no-index -r requirements.txt\nCOPY . .\n" +
			"CMD [\"bash\", \"-c\", \"jupyter notebook --notebook-dir=/tf --ip 0.0.0.0 --no-browser --allow-root\"]\n",
		"requirements.txt": "numpy==1.24.2\n",
		"train.py":         "print('train')\n",
		".dockerignore":    ".tfdev\n",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cleanupProject(t, dir)
	return dir
}

// jupyterPut saves a notebook through Jupyter's contents API, as the
// browser does.
func jupyterPut(t *testing.T, base, token, p string) {
	t.Helper()
	nb := `{"type":"notebook","format":"json","content":{"cells":[{"cell_type":"markdown","metadata":{},"source":"made in Jupyter"}],"metadata":{},"nbformat":4,"nbformat_minor":5}}`
	req, _ := http.NewRequest(http.MethodPut, base+"/api/contents/"+p, strings.NewReader(nb))
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("saving %s in Jupyter: %d", p, resp.StatusCode)
	}
}

func noConflicts(t *testing.T, es []event.Event) {
	t.Helper()
	for _, e := range es {
		if e.Kind == event.Rescue && e.Conflict {
			t.Errorf("a false conflict: %s", e.Plain())
		}
	}
}

func waitExit(t testing.TB, up *upProcess) {
	t.Helper()
	select {
	case err := <-up.done:
		if err != nil {
			t.Errorf("tfdev exited: %v", err)
		}
	case <-time.After(3 * time.Minute): // a bound, not a timing assertion
		t.Fatal("tfdev did not exit")
	}
}

// stop sends SIGTERM and waits for the stop event and a clean exit.
func (p *upProcess) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	p.nextEvent(event.Stop, nil)
	waitExit(p.t, p)
}

func noNextContainers(t *testing.T, eng *engine.Engine, dir string) {
	t.Helper()
	ids, err := eng.ProjectContainers(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if c, err := eng.Inspect(context.Background(), id); err == nil && strings.HasSuffix(c.Name, "-next") {
			t.Errorf("a replacement container survived the stop: %s", c.Name)
		}
	}
}

// A notebook made in Jupyter where the project syncs nothing (/tf, while the
// code is in /app) comes home while tfdev runs, survives a rebuild and a
// stop and the next up (Jupyter lists it each time), and is never called a
// conflict. A second up on the project is refused; two SIGTERMs in a row
// (as timeout(1) sends them) stop cleanly.
func TestNotebookWhereNothingSyncsSurvives(t *testing.T) {
	eng := needEngine(t)
	dir := appProject(t)
	up := startUp(t, dir, "--output", "json", "--deps", "rebuild") // the rebuild and replacement path
	ready, before := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	base, token := m[1], m[2]

	out, stderr, code := tfdev(t, "up", "-C", dir, "--no-tui")
	if code != 1 || !strings.Contains(stderr, "another tfdev up (pid") {
		t.Errorf("a second up: exit %d\n%s\n%s", code, out, stderr)
	}

	jupyterPut(t, base, token, "made-in-jupyter.ipynb")
	kept, passed := up.nextEvent(event.Rescue, func(e event.Event) bool { return e.From == "/tf/made-in-jupyter.ipynb" })
	if kept.To != ".tfdev/kept/tf/made-in-jupyter.ipynb" || kept.Reason != "kept" {
		t.Errorf("rescue %+v", kept)
	}
	if b, err := os.ReadFile(filepath.Join(dir, kept.To)); err != nil || !strings.Contains(string(b), "made in Jupyter") {
		t.Errorf("the kept notebook on the host: %q %v", b, err)
	}

	// A rebuild: the new container has it before it serves.
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy==1.24.2\n# pinned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.BuildDone, nil)
	_, during := up.nextEvent(event.Ready, nil)
	if code := statusCode(t, base+"/api/contents/made-in-jupyter.ipynb", token); code != http.StatusOK {
		t.Errorf("Jupyter does not list the notebook after the rebuild: %d", code)
	}

	// timeout(1)'s two SIGTERMs: a clean stop, exit 0.
	up.cmd.Process.Signal(syscall.SIGTERM)
	up.cmd.Process.Signal(syscall.SIGTERM)
	_, stopping := up.nextEvent(event.Stop, nil)
	waitExit(t, up)
	noNextContainers(t, eng, dir)
	noConflicts(t, append(append(append(before, passed...), during...), stopping...))

	// The next up: a new container from the same image, with the notebook.
	up2 := startUp(t, dir, "--output", "json")
	ready2, events2 := up2.nextEvent(event.Ready, nil)
	m2 := tokenRe.FindStringSubmatch(ready2.URL)
	if code := statusCode(t, m2[1]+"/api/contents/made-in-jupyter.ipynb", m2[2]); code != http.StatusOK {
		t.Errorf("Jupyter does not list the notebook after stop and up: %d", code)
	}
	noConflicts(t, events2)
	up2.stop()
}

// An edit made in the container while tfdev was away and an edit of the
// same file on the host: both are kept, the host's in place and the
// container's in .tfdev/conflicts, and tfdev says so.
func TestEditsOnBothSidesWhileAwayAreBothKept(t *testing.T) {
	dir, _, up2 := editedOnBothSides(t)
	c, _ := up2.nextEvent(event.Rescue, func(e event.Event) bool { return e.Conflict })
	if c.From != "/app/train.py" || c.File != "train.py" || !strings.HasPrefix(c.To, ".tfdev/conflicts/") || !strings.Contains(c.Plain(), "Merge them into train.py") {
		t.Errorf("conflict event %+v", c)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "train.py")); string(b) != "print('train')\n# HOST\n" {
		t.Errorf("the host's train.py: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, c.To)); string(b) != "print('train')\n# CONT\n" {
		t.Errorf("the container's copy: %q", b)
	}
	up2.nextEvent(event.Ready, nil)
	up2.stop()
}
