package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// v1 is the kernel WebSocket protocol jupyter_server 2 speaks with
// JupyterLab 4 and Notebook 7.
const v1 = "v1.kernel.websocket.jupyter.org"

// v1Frame is a message in v1's framing: a little-endian count of offsets,
// the offsets, then the channel and each part.
func v1Frame(channel string, parts ...[]byte) []byte {
	all := append([][]byte{[]byte(channel)}, parts...)
	n := len(all) + 1
	out := binary.LittleEndian.AppendUint64(nil, uint64(n))
	off := uint64(8 * (n + 1))
	out = binary.LittleEndian.AppendUint64(out, off)
	for _, p := range all {
		off += uint64(len(p))
		out = binary.LittleEndian.AppendUint64(out, off)
	}
	for _, p := range all {
		out = append(out, p...)
	}
	return out
}

// v1Parts reads a v1 frame: its channel and parts.
func v1Parts(t *testing.T, b []byte) (string, [][]byte) {
	t.Helper()
	n := binary.LittleEndian.Uint64(b)
	offs := make([]uint64, n)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint64(b[8*(i+1):])
	}
	var parts [][]byte
	for i := 1; i+1 < len(offs); i++ {
		parts = append(parts, b[offs[i]:offs[i+1]])
	}
	return string(b[offs[0]:offs[1]]), parts
}

// v1Cell runs code over a v1 channels socket, as JupyterLab sends a cell,
// and returns what it printed.
func v1Cell(t *testing.T, ws *websocket.Conn, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound, not a timing assertion
	defer cancel()
	id := fmt.Sprintf("lab-%d", time.Now().UnixNano())
	hdr, _ := json.Marshal(map[string]string{"msg_id": id, "msg_type": "execute_request", "session": "lab", "username": "lab", "version": "5.3"})
	content, _ := json.Marshal(map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true})
	if err := ws.Write(ctx, websocket.MessageBinary, v1Frame("shell", hdr, []byte("{}"), []byte("{}"), content)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("running %q: %v", code, err)
		}
		if typ != websocket.MessageBinary {
			t.Fatalf("a %v frame on a v1 socket", typ)
		}
		_, parts := v1Parts(t, b)
		var h, p struct {
			MsgID   string `json:"msg_id"`
			MsgType string `json:"msg_type"`
		}
		var c struct{ Text, Ename, Evalue, ExecutionState string }
		json.Unmarshal(parts[0], &h)
		json.Unmarshal(parts[1], &p)
		json.Unmarshal(parts[3], &c)
		if p.MsgID != id {
			continue
		}
		switch h.MsgType {
		case "stream":
			out.WriteString(c.Text)
		case "error":
			out.WriteString(c.Ename + ": " + c.Evalue)
		case "status":
			if strings.Contains(string(parts[3]), `"idle"`) {
				return strings.TrimSpace(out.String())
			}
		}
	}
}

// browserClient is what a browser keeps for the door: its cookies.
type browserClient struct {
	t      *testing.T
	base   string
	client *http.Client
}

// call sends a request as a page of the door does: with its cookies, the
// Origin, and the _xsrf token read from its cookie.
func (b *browserClient) call(method, path, body string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("Origin", b.base)
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "_xsrf" {
			req.Header.Set("X-XSRFToken", c.Value)
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// jupyter_server 2, the server of JupyterLab 4 and Notebook 7, behind the
// door: a browser's session (the token once, then the door's cookie and
// _xsrf) starts a notebook's kernel and saves, and the kernel's socket in
// v1, the protocol JupyterLab speaks, stays open through a replacement
// and runs the next cell in the carried kernel, with its variables; the
// session still saves after it.
func TestJupyterServer2ThroughTheDoor(t *testing.T) {
	needEngine(t)
	api, err := testimage.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if err := testimage.EnsureJupyterServer(context.Background(), api, enginetest.Discard{}); err != nil {
		t.Fatalf("the jupyter_server 2 test image: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "lab")
	for name, body := range map[string]string{
		"Dockerfile":    "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nWORKDIR /tf\nCOPY . .\n",
		"helper.py":     "NAME = 'helper'\n",
		".dockerignore": ".tfdev\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	cleanupProject(t, dir)
	up := startUpWith(t, dir, testimage.JupyterServer, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	base, _ := splitURL(t, ready.URL)
	jar, _ := cookiejar.New(nil)
	b := &browserClient{t: t, base: base, client: &http.Client{Jar: jar}}
	if code, _ := b.call("GET", strings.TrimPrefix(ready.URL, base), ""); code != http.StatusOK {
		t.Fatalf("the URL: %d", code)
	}
	code, body := b.call("POST", "/api/sessions", `{"path": "lab.ipynb", "name": "lab.ipynb", "type": "notebook", "kernel": {"name": "python3"}}`)
	var s struct{ Kernel struct{ ID string } }
	if json.Unmarshal([]byte(body), &s); code != http.StatusCreated || s.Kernel.ID == "" {
		t.Fatalf("opening a notebook with the door's session: %d %s", code, body)
	}
	nb := `{"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}`
	if code, body := b.call("PUT", "/api/contents/lab.ipynb", nb); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("saving with the door's session: %d %s", code, body)
	}

	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/api/kernels/"+s.Kernel.ID+"/channels?session_id=lab",
		&websocket.DialOptions{HTTPClient: b.client, Subprotocols: []string{v1}, HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		t.Fatalf("the kernel's socket: %v", err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 24)
	if ws.Subprotocol() != v1 {
		t.Fatalf("the socket speaks %q, want %s", ws.Subprotocol(), v1)
	}
	if out := v1Cell(t, ws, "import helper\nx = 7\nprint(x * 6)"); out != "42" {
		t.Fatalf("a cell: %q", out)
	}

	df, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	writeTestFile(t, filepath.Join(dir, "Dockerfile"), strings.Replace(string(df), "COPY . .", "ENV REPLACED=1\nCOPY . .", 1))
	if e, _ := up.nextEvent(event.KernelCarried, nil); e.Kernel != s.Kernel.ID {
		t.Errorf("kernel.carried: %+v", e)
	}
	up.nextEvent(event.Ready, nil)
	if out := v1Cell(t, ws, "print(x, helper.NAME)"); out != "7 helper" {
		t.Errorf("the next cell on the same socket after the replacement: %q", out)
	}
	if code, body := b.call("PUT", "/api/contents/lab.ipynb", nb); code != http.StatusOK {
		t.Errorf("saving after the replacement: %d %s", code, body)
	}
	up.stop()
}
