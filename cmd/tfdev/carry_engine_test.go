package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tfdev-dev/tfdev/dockerctl/engine/kernel"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// pageCell runs code in a kernel through a channels WebSocket already
// open, as the notebook page sends a cell, and returns what it printed.
func pageCell(t *testing.T, ws *websocket.Conn, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound, not a timing assertion
	defer cancel()
	id := strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	msg, _ := json.Marshal(map[string]any{
		"header":        map[string]any{"msg_id": id, "msg_type": "execute_request", "username": "page", "session": "page", "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	})
	if err := ws.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("running %q: %v", code, err)
		}
		var m struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Text, Ename, Evalue string
				ExecutionState      string `json:"execution_state"`
			} `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.ParentHeader.MsgID != id {
			continue
		}
		switch m.Header.MsgType {
		case "stream":
			out.WriteString(m.Content.Text)
		case "error":
			out.WriteString(m.Content.Ename + ": " + m.Content.Evalue)
		case "status":
			if m.Content.ExecutionState == "idle" {
				return strings.TrimSpace(out.String())
			}
		}
	}
}

// openChannels opens a kernel's channels WebSocket through the session
// URL, as the notebook page does.
func openChannels(t *testing.T, base, token, id string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/api/kernels/"+id+"/channels?token="+token,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		t.Fatalf("the kernel's WebSocket: %v", err)
	}
	ws.SetReadLimit(1 << 24)
	return ws
}

// A Dockerfile edit needs a new container; the kernel a notebook started
// through the session URL comes with it: the same kernel ID through the
// same URL answers with the same values (numpy data, a project instance,
// a class and a function the notebook defined) from the new container,
// the notebook's session names it, and the page's WebSocket, held by the
// door, is never closed and runs the next cell in the carried kernel. Both ways tfdev reaches
// Jupyter: a published port, and a relay through the Engine's exec (as
// with a remote Engine).
func TestKernelSurvivesAReplacement(t *testing.T) {
	for _, via := range []string{"publish", "exec"} {
		t.Run(via, func(t *testing.T) { kernelSurvivesAReplacement(t, via) })
	}
}

func kernelSurvivesAReplacement(t *testing.T, via string) {
	needEngine(t)
	dir := appProject(t)
	if err := os.WriteFile(filepath.Join(dir, "proj.py"), []byte("class Model:\n    def __init__(self, w): self.w = w\n    def predict(self, x): return self.w * x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up := startUp(t, dir, "--output", "json", "--jupyter-via", via)
	ready, _ := up.nextEvent(event.Ready, nil)
	base, token := splitURL(t, ready.URL)
	ctx := context.Background()
	kc := kernel.Client{Base: base, Token: token, HTTP: &http.Client{}}
	id, err := kc.Start(ctx, "python3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.NewSession(ctx, kernel.Session{Path: "train.ipynb", Name: "train.ipynb", Type: "notebook", Kernel: kernel.Kernel{ID: id}}); err != nil {
		t.Fatal(err)
	}
	page := openChannels(t, base, token, id)
	defer page.CloseNow()
	const cells = "import numpy as np, proj, os\nweights = np.linspace(0, 1, 1001)\nmodel = proj.Model(3)\n" +
		"def loss(v):\n    return float((weights * v).sum())\nclass Run:\n    def __init__(self, n): self.n = n\nrun = Run(12)\nhost = os.uname().nodename\n"
	if out := pageCell(t, page, cells); out != "" {
		t.Fatalf("the cells: %s", out)
	}
	const check = "print(round(loss(2), 3), model.predict(5), run.n, isinstance(run, Run), host != os.uname().nodename)"

	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(strings.Replace(string(df), "COPY . .", "ENV CARRIED=1\nCOPY . .", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	carried, _ := up.nextEvent(event.KernelCarried, nil)
	if carried.Kernel != id || len(carried.Left) != 0 || carried.Pickler != "dill+pickle" {
		t.Errorf("kernel.carried: %+v", carried)
	}
	for _, name := range []string{"np", "proj", "os", "weights", "model", "loss", "Run", "run", "host"} {
		if !strings.Contains(" "+strings.Join(carried.Names, " ")+" ", " "+name+" ") {
			t.Errorf("%s not among the names carried: %v", name, carried.Names)
		}
	}
	started, _ := up.nextEvent(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "replaced ") })
	if !strings.Contains(started.Message, "kernels carried with their variables: 1 of 1") {
		t.Errorf("container.start: %s %q", started.Container, started.Message)
	}
	up.nextEvent(event.Ready, nil)

	// The page's WebSocket ends at the door: it stays open through the
	// switch and reaches the carried kernel under the ID the page knows.
	if out := pageCell(t, page, check); out != "1001.0 15 12 True True" {
		t.Errorf("the kernel after the replacement printed %q", out)
	}
	ks, err := kc.Kernels(ctx)
	if err != nil || len(ks) != 1 || ks[0].ID != id {
		t.Errorf("kernels through the URL: %+v %v", ks, err)
	}
	ss, err := kc.Sessions(ctx)
	if err != nil || len(ss) != 1 || ss[0].Path != "train.ipynb" || ss[0].Kernel.ID != id {
		t.Errorf("sessions through the URL: %+v %v", ss, err)
	}
}
