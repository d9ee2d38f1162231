package dockerctl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// contents calls Jupyter's contents API as the browser would.
func contents(t *testing.T, c *model.Container, method, p string, body any) (int, []byte) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, "http://127.0.0.1:"+strconv.Itoa(c.HostPort)+"/api/contents/"+p, rd)
	req.Header.Set("Authorization", "token "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

var notebook = map[string]any{
	"type": "notebook", "format": "json",
	"content": map[string]any{
		"cells":    []any{map[string]any{"cell_type": "markdown", "metadata": map[string]any{}, "source": "saved in the container"}},
		"metadata": map[string]any{}, "nbformat": 4, "nbformat_minor": 5,
	},
}

// TestReplaceLosesNothing: a notebook saved through Jupyter and a file
// edited in Jupyter survive a rebuild; an edit on both sides goes to the
// rescue folder; port and token stay.
func TestReplaceLosesNothing(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nCOPY requirements.txt /tmp/requirements.txt\nRUN pip install --no-index -r /tmp/requirements.txt\nCOPY . /tf\n")
	writeFile(t, dir, ".dockerignore", "**/.ipynb_checkpoints\n")
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\n")
	writeFile(t, dir, "train.py", "print('host')\n")
	writeFile(t, dir, "notebooks/explore.ipynb", "{}\n")
	opts := dockerfile.Options{BuildArgs: map[string]string{"BASE": testimage.Jupyter}}
	p, err := dockerfile.Load(dir, "Dockerfile", opts)
	if err != nil {
		t.Fatal(err)
	}
	build := func() *model.BuildResult {
		tag := "tfdev-test/replace:" + nonce(t)
		removeImageOnCleanup(t, tag)
		res, err := testEngine.Build(ctx, model.BuildOptions{Project: p, Tags: []string{tag}, BuildArgs: opts.BuildArgs})
		if err != nil {
			t.Fatal(err)
		}
		removeImageOnCleanup(t, res.ImageID)
		return res
	}
	first := build()
	ledger := model.NewLedger()
	first.SeedLedger(ledger, p.Rules)
	old := runJupyter(t, model.RunOptions{Dir: dir, Image: first.ImageID, HostPort: 0})
	if _, err := testEngine.WaitJupyter(ctx, old, 0); err != nil {
		t.Fatal(err)
	}

	// The user works in Jupyter.
	if code, body := contents(t, old, http.MethodPut, "notebooks/saved.ipynb", notebook); code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("saving a notebook: %d %s", code, body)
	}
	if code, body := contents(t, old, http.MethodPut, "train.py", map[string]any{"type": "file", "format": "text", "content": "print('edited in jupyter')\n"}); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("saving train.py: %d %s", code, body)
	}
	if code, body := contents(t, old, http.MethodPut, "notebooks/explore.ipynb", notebook); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("saving explore.ipynb: %d %s", code, body)
	}
	writeFile(t, dir, "notebooks/explore.ipynb", "{\"host\": true}\n") // edited on the host too

	// The notebook page's kernel, through the front door.
	door, _, err := frontdoor.OpenFrontDoor("127.0.0.1", 0, old.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer door.Close()
	if err := door.Switch(old.Base()); err != nil {
		t.Fatal(err)
	}
	ws := dialKernel(t, door.Base(), old.Token, startKernel(t, old.Base(), old.Token))
	defer ws.CloseNow()
	kernelRoundTrip(t, ws)

	// A dependency change: rebuild, then replace.
	writeFile(t, dir, "requirements.txt", "numpy==1.24.2\n# pinned\n")
	second := build()
	x := realExecutor(old.ID, ledger)
	x.door = door
	done := replaceOn(t, x, loop.Replace{Project: p, Old: old, Built: second})
	if done.Err != nil {
		t.Fatal(done.Err)
	}
	// The page's kernel WebSocket ends at the door: it was not closed, and
	// reaches the kernel carried into the new container.
	kernelRoundTrip(t, ws)
	if code, err := engine.JupyterGet(ctx, door.Base()+"/api/status", old.Token); err != nil || code != http.StatusOK {
		t.Errorf("through the door after the switch: %d %v", code, err)
	}
	nc, rescued := done.C, done.Rescued
	t.Cleanup(func() { testEngine.Remove(context.Background(), nc.ID) })
	if nc.Token != old.Token || nc.Name != old.Name {
		t.Errorf("new container %s token %s; old %s token %s", nc.Name, nc.Token, old.Name, old.Token)
	}

	// On the host: the new notebook and the Jupyter edit came home; the
	// two-sided edit went to the rescue folder, the host's version kept.
	if b, err := os.ReadFile(filepath.Join(dir, "notebooks/saved.ipynb")); err != nil || !strings.Contains(string(b), "saved in the container") {
		t.Errorf("saved.ipynb on the host: %q %v", b, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "train.py")); string(b) != "print('edited in jupyter')\n" {
		t.Errorf("train.py on the host: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notebooks/explore.ipynb")); string(b) != "{\"host\": true}\n" {
		t.Errorf("explore.ipynb on the host was overwritten: %q", b)
	}
	var conflict *model.Rescued
	for i, r := range rescued {
		if r.From == "/tf/requirements.txt" {
			t.Errorf("requirements.txt, changed on the host only, came back as %+v", r)
		}
		if r.From == "/tf/notebooks/explore.ipynb" {
			conflict = &rescued[i]
		}
	}
	if conflict == nil || !conflict.Conflict || !strings.Contains(conflict.To, filepath.Join(dir, engine.ConflictDir)) {
		t.Fatalf("rescued %+v", rescued)
	}
	if b, err := os.ReadFile(conflict.To); err != nil || !strings.Contains(string(b), "saved in the container") {
		t.Errorf("rescue copy %q %v", b, err)
	}

	// In the new container, which the replacement reconciled.
	if code, body := contents(t, nc, http.MethodGet, "notebooks/saved.ipynb", nil); code != http.StatusOK || !strings.Contains(string(body), "saved in the container") {
		t.Errorf("saved.ipynb in the new container: %d %s", code, body)
	}
	if got := sh(t, nc.ID, "cat /tf/train.py"); got != "print('edited in jupyter')" {
		t.Errorf("train.py in the new container: %q", got)
	}
}

// A replacement whose new container cannot start leaves the old one serving.
func TestReplaceFailureKeepsTheOldContainer(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nCOPY . /tf\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := runJupyter(t, model.RunOptions{Dir: dir, HostPort: 0})
	if _, err := testEngine.WaitJupyter(ctx, old, 0); err != nil {
		t.Fatal(err)
	}
	// An image whose command does not exist cannot start.
	bad := t.TempDir()
	writeFile(t, bad, "Dockerfile", "FROM "+testimage.Busybox+"\nCMD [\"/no/such/binary\"]\n")
	res := buildDir(t, bad)
	done := replaceOn(t, realExecutor(old.ID, model.NewLedger()), loop.Replace{Project: p, Old: old, Built: res})
	if done.Err == nil || !strings.Contains(done.Err.Error(), "the old one keeps serving") || done.C != nil {
		t.Fatalf("replacement: %+v", done)
	}
	// Never stopped for a replacement that never served: the same run.
	if now, err := testEngine.Inspect(ctx, old.ID); err != nil || !now.Running || !now.Started.Equal(old.Started) {
		t.Errorf("the old container was stopped or restarted: %+v %v (started %v before)", now, err, old.Started)
	}
	if ids, _ := testEngine.ProjectContainers(ctx, dir); len(ids) != 1 || ids[0] != old.ID {
		t.Errorf("project containers %v, want only the old one", ids)
	}
	if _, err := testEngine.WaitJupyter(ctx, old, 0); err != nil {
		t.Errorf("old container no longer serves: %v", err)
	}
}

// realExecutor is the session's executor on the real Engine.
func realExecutor(id string, ledger *model.Ledger) *executor {
	x := newExecutor(enginePorts(testEngine), SessionOptions{ReadyTimeout: engine.ReadyTimeout}, model.GPUSupport{}, func(event.Event) {}, make(chan loop.Input, 16))
	x.book.setLedger(id, ledger)
	return x
}

// replaceOn carries out a replacement and returns its result.
func replaceOn(t *testing.T, x *executor, e loop.Replace) loop.Started {
	t.Helper()
	for _, in := range x.do(context.Background(), e) {
		if st, ok := in.(loop.Started); ok {
			return st
		}
	}
	t.Fatal("the replacement returned no inStarted")
	return loop.Started{}
}
