package dockerctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The browser's side of Jupyter, for tests: a kernel started through the
// REST API and its channels WebSocket, as the notebook page uses them.

// startKernel starts a python3 kernel in the Jupyter at base and returns
// its ID.
func startKernel(t testing.TB, base, token string) string {
	t.Helper()
	var k struct{ ID string }
	jupyterJSON(t, http.MethodPost, base+"/api/kernels", token, `{"name": "python3"}`, &k)
	if k.ID == "" {
		t.Fatal("starting a kernel: no ID in the answer")
	}
	return k.ID
}

// jupyterJSON calls Jupyter's REST API with the token and decodes its
// JSON answer into out.
func jupyterJSON(t testing.TB, method, url, token, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s %s: %d %v", method, url, resp.StatusCode, err)
	}
}

// dialKernel opens the kernel's channels WebSocket at base, as the page
// does (the Origin is the page's own).
func dialKernel(t testing.TB, base, token, id string) *websocket.Conn {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(base, "http") + "/api/kernels/" + id + "/channels?token=" + token
	c, _, err := websocket.Dial(context.Background(), ws, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		t.Fatalf("the kernel's WebSocket at %s: %v", base, err)
	}
	c.SetReadLimit(1 << 24)
	return c
}

// kernelRoundTrip sends a kernel_info_request on the shell channel and
// waits for its reply: a message to the kernel and back.
func kernelRoundTrip(t testing.TB, c *websocket.Conn) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound, not a timing assertion
	defer cancel()
	start := time.Now()
	id := sendShell(t, ctx, c, "kernel_info_request", map[string]any{})
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for the kernel's reply: %v", err)
		}
		var reply struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
		}
		if json.Unmarshal(data, &reply) == nil && reply.ParentHeader.MsgID == id && reply.Header.MsgType == "kernel_info_reply" {
			return time.Since(start)
		}
	}
}

// sendShell sends a message of msgType on the kernel's shell channel and
// returns its ID, which the replies name as their parent.
func sendShell(t testing.TB, ctx context.Context, c *websocket.Conn, msgType string, content map[string]any) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	id := hex.EncodeToString(b)
	body, _ := json.Marshal(map[string]any{
		"header":        map[string]any{"msg_id": id, "msg_type": msgType, "username": "test", "session": "tfdev-test", "version": "5.3"},
		"parent_header": map[string]any{}, "metadata": map[string]any{}, "content": content, "channel": "shell",
	})
	if err := c.Write(ctx, websocket.MessageText, body); err != nil {
		t.Fatal(err)
	}
	return id
}

// pageLoad fetches the notebook's file list page, as a browser opening
// the URL does, and returns how long the whole answer took.
func pageLoad(t testing.TB, client *http.Client, base, token string) time.Duration {
	t.Helper()
	start := time.Now()
	resp, err := client.Get(base + "/tree?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || n == 0 {
		t.Fatalf("the page: %d, %d bytes", resp.StatusCode, n)
	}
	return time.Since(start)
}

// BenchmarkFrontDoorJupyter: the notebook page and a kernel round trip
// (kernel_info over the channels WebSocket), straight to the container's
// Jupyter and through the front door; medians of each.
func BenchmarkFrontDoorJupyter(b *testing.B) {
	benchDoor(b, "door", func(d *frontdoor.FrontDoor, c *model.Container) error { return d.Switch(c.Base()) })
}

// benchDoor measures pages and kernel round trips straight to a Jupyter
// container and through a front door that switch points at it.
func benchDoor(b *testing.B, name string, switchTo func(*frontdoor.FrontDoor, *model.Container) error) {
	requireEngine(b)
	needJupyter(b)
	c := runJupyter(b, model.RunOptions{HostPort: 0})
	if _, err := testEngine.WaitJupyter(context.Background(), c, 0); err != nil {
		b.Fatal(err)
	}
	d, _, err := frontdoor.OpenFrontDoor("127.0.0.1", 0, c.Token)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := switchTo(d, c); err != nil {
		b.Fatal(err)
	}
	kernel := startKernel(b, c.Base(), c.Token)
	direct, door := dialKernel(b, c.Base(), c.Token, kernel), dialKernel(b, d.Base(), c.Token, kernel)
	defer direct.CloseNow()
	defer door.CloseNow()
	client := &http.Client{}
	var pd, pt, kd, kt []time.Duration
	for i := 0; i < b.N; i++ {
		pd = append(pd, pageLoad(b, client, c.Base(), c.Token))
		pt = append(pt, pageLoad(b, client, d.Base(), c.Token))
		kd = append(kd, kernelRoundTrip(b, direct))
		kt = append(kt, kernelRoundTrip(b, door))
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(median(pd)), "page-direct-ms")
	b.ReportMetric(ms(median(pt)), "page-"+name+"-ms")
	b.ReportMetric(ms(median(kd)), "kernel-direct-ms")
	b.ReportMetric(ms(median(kt)), "kernel-"+name+"-ms")
}

// kernelExec runs code in the kernel, as a notebook cell does, and
// returns what it printed (or its error's name and value).
func kernelExec(t testing.TB, c *websocket.Conn, code string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a bound, not a timing assertion
	defer cancel()
	id := sendShell(t, ctx, c, "execute_request", map[string]any{
		"code": code, "silent": false, "store_history": false, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true,
	})
	var out strings.Builder
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("running %q in the kernel: %v", code, err)
		}
		var m struct {
			Header struct {
				MsgType string `json:"msg_type"`
			} `json:"header"`
			ParentHeader struct {
				MsgID string `json:"msg_id"`
			} `json:"parent_header"`
			Content struct {
				Text           string `json:"text"`
				ExecutionState string `json:"execution_state"`
				Ename          string `json:"ename"`
				Evalue         string `json:"evalue"`
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

// kernelID is the ID of the kernel behind a notebook page's WebSocket,
// asked of the Jupyter at base.
func kernelIDs(t testing.TB, base, token string) []string {
	t.Helper()
	var ks []struct{ ID string }
	jupyterJSON(t, http.MethodGet, base+"/api/kernels", token, "", &ks)
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}
