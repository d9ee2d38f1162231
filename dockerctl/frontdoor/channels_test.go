package frontdoor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeKernels is a Jupyter server's kernel channels, as far as the door
// sees them: it knows some kernel IDs, speaks v1 when asked and able,
// answers an execute_request with a stream naming itself and the code,
// then the reply (unless the code is "hang"), and records the session IDs
// its pages connected with.
type fakeKernels struct {
	name     string
	kernels  map[string]bool
	v1       bool
	mu       sync.Mutex
	sessions []string
	conns    []*websocket.Conn
	took     chan string // the ID of each execute_request, as it arrives
	joined   chan string // the session ID of each connection, as it comes
}

func (f *fakeKernels) serve(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := channelsPath.FindStringSubmatch(r.URL.Path)
		if m == nil || !f.kernels[m[1]] {
			http.Error(w, "no such kernel", http.StatusNotFound)
			return
		}
		var protos []string
		if f.v1 {
			protos = []string{protoV1}
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: protos})
		if err != nil {
			return
		}
		f.mu.Lock()
		f.sessions = append(f.sessions, r.URL.Query().Get("session_id"))
		f.conns = append(f.conns, ws)
		f.mu.Unlock()
		if f.joined != nil {
			f.joined <- r.URL.Query().Get("session_id")
		}
		proto := ws.Subprotocol()
		for {
			typ, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			req, err := decodeMsg(proto, typ, b)
			if err != nil || req.Type != "execute_request" {
				continue
			}
			var c struct{ Code string }
			json.Unmarshal(req.Content, &c)
			if f.took != nil {
				f.took <- req.ID
			}
			if c.Code == "hang" {
				continue
			}
			h := &channels{}
			for _, out := range []*kmsg{
				h.message("iopub", "stream", req.Header, fmt.Sprintf(`{"name": "stdout", "text": %q}`, f.name+" "+m[1]+" ran "+c.Code)),
				h.message("shell", "execute_reply", req.Header, `{"status": "ok", "execution_count": 1}`),
			} {
				typ, b := encodeMsg(proto, out)
				ws.Write(context.Background(), typ, b)
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// cut ends every connection the server holds, as a lost exec does.
func (f *fakeKernels) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.CloseNow()
	}
	f.conns = nil
}

// doorOn is a door serving url.
func doorOn(t *testing.T, url string) *FrontDoor {
	t.Helper()
	d, _, err := OpenFrontDoor("127.0.0.1", 0, testToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.Switch(url)
	return d
}

// page is a notebook page's channels socket through the door.
type page struct {
	t     *testing.T
	ws    *websocket.Conn
	proto string
}

func openPage(t *testing.T, d *FrontDoor, kernel string, protos ...string) *page {
	t.Helper()
	ws, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(d.Base(), "http")+"/api/kernels/"+kernel+"/channels?session_id=page-1&token="+testToken,
		&websocket.DialOptions{Subprotocols: protos, HTTPHeader: http.Header{"Origin": {d.Base()}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &page{t: t, ws: ws, proto: ws.Subprotocol()}
}

func (p *page) send(id, code string) {
	p.t.Helper()
	h := &channels{}
	m := h.message("shell", "execute_request", nil, fmt.Sprintf(`{"code": %q, "silent": false}`, code))
	m.Header, _ = json.Marshal(map[string]string{"msg_id": id, "msg_type": "execute_request", "session": "page-1"})
	typ, b := encodeMsg(p.proto, m)
	if err := p.ws.Write(context.Background(), typ, b); err != nil {
		p.t.Fatal(err)
	}
}

// answers reads what the page gets for request id until its reply: the
// stream text or the error, and the reply's status.
func (p *page) answers(id string) (text, status string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		typ, b, err := p.ws.Read(ctx)
		if err != nil {
			p.t.Fatalf("waiting for %s: %v", id, err)
		}
		m, err := decodeMsg(p.proto, typ, b)
		if err != nil {
			p.t.Fatalf("a frame the page cannot read: %v", err)
		}
		if m.ParentID != id {
			continue
		}
		var c struct{ Text, Evalue, Status, ExecutionState string }
		json.Unmarshal(m.Content, &c)
		switch m.Type {
		case "stream":
			text = c.Text
		case "error":
			text = c.Evalue
		case "execute_reply":
			return text, c.Status
		}
	}
}

// The page's channels socket ends at the door and outlives the
// container: a replacement that carries the kernel moves it to the new
// kernel without closing it (the next cell runs there, under the ID the
// page knows); a cell the old kernel took and did not answer is answered
// with an error; what the page sends while no container serves waits and
// runs once one does; a connection cut behind the door is made again with
// the page's session ID. Both protocols, and a page of one behind servers
// of the other.
func TestDoorHoldsKernelChannels(t *testing.T) {
	for _, tc := range []struct {
		name             string
		pageProtos       []string
		firstV1, afterV1 bool
		wantProto        string
	}{
		{"legacy", nil, false, false, ""},
		{"v1", []string{protoV1}, true, true, protoV1},
		{"v1 page, then a legacy server", []string{protoV1}, true, false, protoV1},
		{"a server without v1 first", []string{protoV1}, false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &fakeKernels{name: "a", kernels: map[string]bool{"k1": true}, v1: tc.firstV1, took: make(chan string, 10)}
			b := &fakeKernels{name: "b", kernels: map[string]bool{"k2": true}, v1: tc.afterV1, joined: make(chan string, 10)}
			as, bs := a.serve(t), b.serve(t)
			d, _, err := OpenFrontDoor("127.0.0.1", 0, testToken)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			lost := make(chan struct{}, 10)
			d.lostHook = func() { lost <- struct{}{} }
			d.Switch(as.URL)
			p := openPage(t, d, "k1", tc.pageProtos...)
			if p.proto != tc.wantProto {
				t.Fatalf("the page speaks %q, want %q", p.proto, tc.wantProto)
			}
			p.send("m1", "x = 1")
			if text, status := p.answers("m1"); text != "a k1 ran x = 1" || status != "ok" {
				t.Errorf("before: %q %q", text, status)
			}
			// A cell the old kernel never answers, then the replacement.
			p.send("m2", "hang")
			for id := range a.took {
				if id == "m2" {
					break
				}
			}
			d.Carry(map[string]string{"k1": "k2"})
			d.Switch(bs.URL)
			if text, status := p.answers("m2"); status != "error" || !strings.Contains(text, "run the cell again") {
				t.Errorf("the cell under way at the switch: %q %q", text, status)
			}
			p.send("m3", "print(x)")
			if text, status := p.answers("m3"); text != "b k2 ran print(x)" || status != "ok" {
				t.Errorf("after the replacement: %q %q", text, status)
			}
			// No container: the cell waits at the door, then runs.
			d.Hold()
			b.cut()
			<-lost
			p.send("m4", "y = 2")
			d.Switch(bs.URL)
			if text, status := p.answers("m4"); text != "b k2 ran y = 2" || status != "ok" {
				t.Errorf("sent while none served: %q %q", text, status)
			}
			// A cut behind the door: connected again, same session.
			for len(b.joined) > 0 {
				<-b.joined
			}
			b.cut()
			if s := <-b.joined; s != "page-1" {
				t.Errorf("connected again with session %q", s)
			}
			p.send("m5", "z = 3")
			if text, _ := p.answers("m5"); text != "b k2 ran z = 3" {
				t.Errorf("after a cut: %q", text)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			for _, s := range append(a.sessions, b.sessions...) {
				if s != "page-1" {
					t.Errorf("the door connected with session %q, not the page's", s)
				}
			}
		})
	}
}

// A kernel the serving container does not have (nothing was carried for
// it) is said to the page as dead, as Jupyter says it, and the socket is
// closed: the page does not wait forever.
func TestDoorSaysAKernelNotCarriedIsDead(t *testing.T) {
	a := &fakeKernels{name: "a", kernels: map[string]bool{"k1": true}}
	b := &fakeKernels{name: "b", kernels: map[string]bool{}}
	as, bs := a.serve(t), b.serve(t)
	d := doorOn(t, as.URL)
	p := openPage(t, d, "k1")
	d.Switch(bs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dead := false
	for {
		typ, data, err := p.ws.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Errorf("closed with %v", err)
			}
			break
		}
		m, _ := decodeMsg("", typ, data)
		dead = dead || (m.Type == "status" && strings.Contains(string(m.Content), `"dead"`))
	}
	if !dead {
		t.Error("the page was not told its kernel is dead")
	}
}

// A kernel that took an old one's place empty (its variables could not be
// carried) is a restart to the page, as Jupyter's own restart is: the
// socket stays open, the page is told the kernel is starting (and asks it
// for its info), a cell under way is answered with why, and the next runs
// in the new kernel.
func TestDoorSaysARestartedKernelStarted(t *testing.T) {
	a := &fakeKernels{name: "a", kernels: map[string]bool{"k1": true}, took: make(chan string, 10)}
	b := &fakeKernels{name: "b", kernels: map[string]bool{"k2": true}}
	as, bs := a.serve(t), b.serve(t)
	d := doorOn(t, as.URL)
	p := openPage(t, d, "k1")
	p.send("m1", "hang")
	<-a.took
	d.Carry(map[string]string{"k1": "k2"})
	d.Restarted("k2")
	d.Switch(bs.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var starting, answered bool
	for !starting || !answered {
		typ, data, err := p.ws.Read(ctx)
		if err != nil {
			t.Fatalf("starting %v, the cell answered %v: %v", starting, answered, err)
		}
		m, _ := decodeMsg("", typ, data)
		switch {
		case m.Type == "status" && strings.Contains(string(m.Content), `"starting"`):
			starting = true
		case m.Type == "execute_reply" && m.ParentID == "m1":
			answered = strings.Contains(string(m.Content), "restarted empty")
			if !answered {
				t.Errorf("the cell under way: %s", m.Content)
			}
		}
	}
	p.send("m2", "print(1)")
	if text, _ := p.answers("m2"); text != "b k2 ran print(1)" {
		t.Errorf("after the restart: %q", text)
	}
}
