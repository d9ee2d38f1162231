// Package kernel speaks to a Jupyter server the way the notebook page
// does: its REST API for kernels and sessions, and a kernel's channels
// WebSocket to run code in it. It knows nothing of containers: the caller
// gives the server's base URL, its token and an HTTP client that reaches
// it (a published port, or a relay through the Engine's exec).
//
//	c := kernel.Client{Base: "http://127.0.0.1:8888", Token: tok, HTTP: http.DefaultClient}
//	ks, _ := c.Kernels(ctx)
//	out, err := c.Execute(ctx, ks[0].ID, "print(1 + 1)") // "2\n"
package kernel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// Client is one Jupyter server.
type Client struct {
	Base  string // "http://127.0.0.1:8888", no trailing slash
	Token string
	HTTP  *http.Client // reaches Base; its Timeout must be zero (WebSockets last)
}

// Kernel is a running kernel as the server lists it.
type Kernel struct {
	ID    string `json:"id"`
	Name  string `json:"name"`            // the kernelspec: "python3"
	State string `json:"execution_state"` // "idle", "busy", "starting"
}

// Session ties a notebook (Path) to a kernel.
type Session struct {
	ID     string `json:"id"`
	Path   string `json:"path"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Kernel Kernel `json:"kernel"`
}

// Kernels lists the server's running kernels.
func (c *Client) Kernels(ctx context.Context) ([]Kernel, error) {
	var ks []Kernel
	return ks, c.call(ctx, http.MethodGet, "/api/kernels", nil, &ks)
}

// Sessions lists the server's sessions.
func (c *Client) Sessions(ctx context.Context) ([]Session, error) {
	var ss []Session
	return ss, c.call(ctx, http.MethodGet, "/api/sessions", nil, &ss)
}

// Start starts a kernel of the kernelspec name and returns its ID.
func (c *Client) Start(ctx context.Context, name string) (string, error) {
	var k Kernel
	if err := c.call(ctx, http.MethodPost, "/api/kernels", map[string]string{"name": name}, &k); err != nil {
		return "", err
	}
	if k.ID == "" {
		return "", fmt.Errorf("starting a %s kernel: the server gave no ID", name)
	}
	return k.ID, nil
}

// Stop shuts the kernel down.
func (c *Client) Stop(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodDelete, "/api/kernels/"+id, nil, nil)
}

// NewSession ties s.Path to the running kernel s.Kernel.ID and returns the
// new session's ID.
func (c *Client) NewSession(ctx context.Context, s Session) (string, error) {
	body := map[string]any{"path": s.Path, "name": s.Name, "type": s.Type, "kernel": map[string]string{"id": s.Kernel.ID}}
	var out Session
	if err := c.call(ctx, http.MethodPost, "/api/sessions", body, &out); err != nil {
		return "", err
	}
	if out.Kernel.ID != s.Kernel.ID {
		return out.ID, fmt.Errorf("the session for %s took kernel %s, not %s", s.Path, out.Kernel.ID, s.Kernel.ID)
	}
	return out.ID, nil
}

// OpenNotebook opens the notebook at path as the notebook page does: a
// new session with a new kernel of the kernelspec name.
func (c *Client) OpenNotebook(ctx context.Context, path, name string) (Session, error) {
	body := map[string]any{"path": path, "name": path, "type": "notebook", "kernel": map[string]string{"name": name}}
	var out Session
	if err := c.call(ctx, http.MethodPost, "/api/sessions", body, &out); err != nil {
		return out, err
	}
	if out.Kernel.ID == "" {
		return out, fmt.Errorf("opening %s: the server gave no kernel", path)
	}
	return out, nil
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &HTTPError{Call: method + " " + path, Code: resp.StatusCode, Body: strings.TrimSpace(string(msg))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// HTTPError is an answer of the server other than 2xx.
type HTTPError struct {
	Call string // "GET /api/kernels"
	Code int
	Body string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%s answered %d: %s", e.Call, e.Code, e.Body) }

// ExecError is an exception the code raised in the kernel.
type ExecError struct {
	Name, Value string
	Traceback   []string
}

func (e *ExecError) Error() string { return e.Name + ": " + e.Value }

// Execute runs code in the kernel silently (no execution count, nothing in
// its history) over its channels WebSocket, and returns what it printed.
// Other pages connected to the kernel see it busy, then idle, and nothing
// else. A kernel busy with a cell runs the code after it: bound ctx.
func (c *Client) Execute(ctx context.Context, id, code string) (string, error) {
	return c.execute(ctx, id, code, true)
}

// RunCell runs code as a notebook cell does: counted, kept in the kernel's
// history, its output shown to every page of the kernel.
func (c *Client) RunCell(ctx context.Context, id, code string) (string, error) {
	return c.execute(ctx, id, code, false)
}

func (c *Client) execute(ctx context.Context, id, code string, silent bool) (string, error) {
	conn, err := c.Connect(ctx, id)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.run(ctx, code, silent)
}

// Conn is one open channels WebSocket of a kernel, as a notebook page
// holds it: cells run one after another over it.
type Conn struct{ ws *websocket.Conn }

// Connect opens the kernel's channels WebSocket.
func (c *Client) Connect(ctx context.Context, id string) (*Conn, error) {
	url := "ws" + strings.TrimPrefix(c.Base, "http") + "/api/kernels/" + id + "/channels?session_id=" + newID()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: c.HTTP,
		HTTPHeader: http.Header{"Authorization": {"token " + c.Token}, "Origin": {c.Base}},
	})
	if err != nil {
		return nil, fmt.Errorf("the kernel's channels: %w", err)
	}
	ws.SetReadLimit(64 << 20)
	return &Conn{ws: ws}, nil
}

// Close closes the WebSocket; the kernel runs on.
func (k *Conn) Close() error { return k.ws.Close(websocket.StatusNormalClosure, "") }

// RunCell runs code as a notebook cell over the open WebSocket.
func (k *Conn) RunCell(ctx context.Context, code string) (string, error) {
	return k.run(ctx, code, false)
}

func (k *Conn) run(ctx context.Context, code string, silent bool) (string, error) {
	ws := k.ws
	msgID := newID()
	req, _ := json.Marshal(map[string]any{
		"header":        map[string]any{"msg_id": msgID, "msg_type": "execute_request", "username": "tfdev", "session": msgID, "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "channel": "shell",
		"content": map[string]any{"code": code, "silent": silent, "store_history": !silent, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": false},
	})
	if err := ws.Write(ctx, websocket.MessageText, req); err != nil {
		return "", err
	}
	var out strings.Builder
	var failed *ExecError
	replied, idle := false, false
	for !replied || !idle {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return out.String(), fmt.Errorf("waiting for the kernel: %w", err)
		}
		var m struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Name           string   `json:"name"`
				Text           string   `json:"text"`
				ExecutionState string   `json:"execution_state"`
				Status         string   `json:"status"`
				Ename          string   `json:"ename"`
				Evalue         string   `json:"evalue"`
				Traceback      []string `json:"traceback"`
			} `json:"content"`
		}
		if json.Unmarshal(data, &m) != nil || m.ParentHeader.MsgID != msgID {
			continue
		}
		switch m.Header.MsgType {
		case "stream":
			if m.Content.Name == "stdout" {
				out.WriteString(m.Content.Text)
			}
		case "error":
			failed = &ExecError{Name: m.Content.Ename, Value: m.Content.Evalue, Traceback: m.Content.Traceback}
		case "execute_reply":
			replied = true
			if m.Content.Status == "error" && failed == nil {
				failed = &ExecError{Name: m.Content.Ename, Value: m.Content.Evalue, Traceback: m.Content.Traceback}
			}
		case "status":
			idle = m.Content.ExecutionState == "idle"
		}
	}
	if failed != nil {
		return out.String(), failed
	}
	return out.String(), nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
