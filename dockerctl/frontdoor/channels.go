package frontdoor

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// A page's kernel channels WebSocket ends at the door. Behind it the door
// holds a connection of its own to the kernel that serves the page's
// kernel ID now, and when a replacement carries the kernel into a new
// container, it connects to the carried kernel without closing the page's
// socket: the page never sees the old kernel's shutdown, its "dead"
// status or a closed socket. A connection lost for other reasons (the
// Engine's exec cut, a container restarted) is made again to the same
// kernel with the page's own session ID, so the server replays what the
// kernel said meanwhile.
//
// What the page sends while no kernel is connected waits at the door and
// goes to the kernel once one is. A request the old kernel took but did
// not answer before the switch is answered by the door: a cell with an
// error the page shows in it ("run it again"), since its effects are not
// in the carried kernel; other requests (kernel info, completion,
// inspection) are sent to the new kernel again.

var channelsPath = regexp.MustCompile(`/api/kernels/([^/]+)/channels$`)

// queueBound bounds what waits at the door for a kernel: past it, cells
// are answered with an error instead.
const queueBound = 1000

// channels is one page's held channels WebSocket.
type channels struct {
	d       *FrontDoor
	page    *websocket.Conn
	proto   string // the page's protocol: "" (legacy) or protoV1
	path    string // the page's request path, with the kernel ID it knows
	query   string // its query (session_id), the door's token taken out
	offered []string
	ctx     context.Context // ends when the page's socket does
	cancel  context.CancelFunc

	mu      sync.Mutex
	up      *kernelConn
	last    *doorTarget      // the target the last connection reached
	queue   []*kmsg          // for the kernel, while none is connected
	pending map[string]*kmsg // requests sent to the kernel, not yet answered
}

// kernelConn is the door's connection to a kernel.
type kernelConn struct {
	ws     *websocket.Conn
	proto  string
	target *doorTarget
}

// dialKernel connects to the kernel behind path on target t.
func (d *FrontDoor) dialKernel(ctx context.Context, t *doorTarget, path, query string, offered []string) (*kernelConn, *http.Response, error) {
	u := *t.url
	u.Scheme = strings.Replace(u.Scheme, "http", "ws", 1)
	u.Path, u.RawQuery = t.ids.path(path), query
	h := http.Header{"Authorization": {"token " + d.guard.token}}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: t.rt},
		HTTPHeader:      h,
		Subprotocols:    offered,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, resp, err
	}
	ws.SetReadLimit(-1) // a kernel's output is the user's: no bound of the door's
	return &kernelConn{ws: ws, proto: ws.Subprotocol(), target: t}, resp, nil
}

// holdChannels ends the page's channels WebSocket at the door.
func (d *FrontDoor) holdChannels(w http.ResponseWriter, r *http.Request, t *doorTarget) {
	q := r.URL.Query()
	q.Del("token")
	var offered []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				offered = append(offered, p)
			}
		}
	}
	// The kernel first: the page gets the protocol the server chose, and
	// an answer of the server's own (404: no such kernel) when it refuses.
	up, resp, err := d.dialKernel(r.Context(), t, r.URL.Path, q.Encode(), offered)
	if err != nil {
		code := http.StatusBadGateway
		if resp != nil && resp.StatusCode >= 400 {
			code = resp.StatusCode
		}
		refuse(w, code, "tfdev: the kernel's channels: "+err.Error())
		return
	}
	var protos []string
	if up.proto != "" {
		protos = []string{up.proto}
	}
	page, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       protos,
		InsecureSkipVerify: true, // the guard checked the Origin
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		up.ws.CloseNow()
		return
	}
	page.SetReadLimit(-1)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	h := &channels{d: d, page: page, proto: page.Subprotocol(), path: r.URL.Path, query: q.Encode(), offered: offered,
		ctx: ctx, cancel: cancel, pending: map[string]*kmsg{}}
	if !d.track(h) {
		page.CloseNow()
		up.ws.CloseNow()
		return
	}
	defer d.untrack(h)
	h.attach(up)
	h.fromPage()
}

// fromPage passes what the page sends to the kernel, or keeps it until
// one is connected; it returns when the page's socket ends.
func (h *channels) fromPage() {
	defer func() {
		h.cancel()
		h.mu.Lock()
		up := h.up
		h.up = nil
		h.mu.Unlock()
		if up != nil {
			up.ws.Close(websocket.StatusNormalClosure, "")
		}
	}()
	for {
		typ, b, err := h.page.Read(h.ctx)
		if err != nil {
			return
		}
		m, err := decodeMsg(h.proto, typ, b)
		if err != nil {
			continue // not a message the kernel could read either
		}
		h.mu.Lock()
		h.send(m)
		h.mu.Unlock()
	}
}

// send passes m to the connected kernel, or queues it; h.mu is held.
func (h *channels) send(m *kmsg) {
	if h.up == nil {
		if len(h.queue) >= queueBound {
			h.answer(m, "tfdev is waiting for the container and holds too many messages already")
			return
		}
		h.queue = append(h.queue, m)
		return
	}
	if isRequest(m) {
		h.pending[m.ID] = m
	}
	typ, b := encodeMsg(h.up.proto, m)
	if err := h.up.ws.Write(h.ctx, typ, b); err != nil {
		delete(h.pending, m.ID)
		h.queue = append(h.queue, m) // the connection is going: sent again on the next
	}
}

// kernel is the kernel ID the page knows.
func (h *channels) kernel() string {
	if m := channelsPath.FindStringSubmatch(h.path); m != nil {
		return m[1]
	}
	return ""
}

func isRequest(m *kmsg) bool {
	return (m.Channel == "shell" || m.Channel == "control") && strings.HasSuffix(m.Type, "_request")
}

// attach makes up the connection to the kernel: what the old kernel did
// not answer is answered or sent again when up is another kernel, what
// waited is sent, and the kernel's messages flow to the page.
func (h *channels) attach(up *kernelConn) {
	h.mu.Lock()
	if h.ctx.Err() != nil || h.up != nil {
		h.mu.Unlock()
		up.ws.CloseNow() // the page is gone, or another connect won
		return
	}
	h.up = up
	if h.last != nil && h.last.key != up.target.key {
		restarted := up.target.restarted[up.target.ids.currentOf(h.kernel())]
		why := "tfdev replaced the container while this cell ran or waited; the kernel was carried without its effects: run the cell again"
		if restarted {
			why = "tfdev replaced the container and could not carry this kernel's variables: it restarted empty; run your cells again"
		}
		var again []*kmsg
		for _, m := range h.pending {
			if m.Type == "execute_request" {
				h.answer(m, why)
			} else {
				again = append(again, m)
			}
		}
		clear(h.pending)
		h.queue = append(again, h.queue...)
		if restarted {
			// What a kernel says when it starts: the page shows a
			// restart, asks the kernel for its info and is ready.
			typ, b := encodeMsg(h.proto, h.message("iopub", "status", nil, `{"execution_state": "starting"}`))
			h.page.Write(h.ctx, typ, b)
		}
	}
	h.last = up.target
	queued := h.queue
	h.queue = nil
	for _, m := range queued {
		h.send(m)
	}
	h.mu.Unlock()
	go h.fromKernel(up)
}

// fromKernel passes the kernel's messages to the page until up ends.
func (h *channels) fromKernel(up *kernelConn) {
	for {
		typ, b, err := up.ws.Read(h.ctx)
		if err != nil {
			h.lost(up)
			return
		}
		h.mu.Lock()
		if h.up != up {
			h.mu.Unlock()
			return // retired: the door moved to another kernel
		}
		m, err := decodeMsg(up.proto, typ, b)
		if err == nil && strings.HasSuffix(m.Type, "_reply") {
			delete(h.pending, m.ParentID)
		}
		h.mu.Unlock()
		if err != nil {
			if up.proto != h.proto {
				continue
			}
			m = &kmsg{proto: up.proto, rawType: typ, raw: b}
		}
		ptyp, pb := encodeMsg(h.proto, m)
		if h.page.Write(h.ctx, ptyp, pb) != nil {
			return
		}
	}
}

// lost is up's end, not the door's doing: connect again.
func (h *channels) lost(up *kernelConn) {
	h.mu.Lock()
	if h.up != up {
		h.mu.Unlock()
		return
	}
	h.up = nil
	h.mu.Unlock()
	up.ws.CloseNow()
	if h.d.lostHook != nil {
		h.d.lostHook()
	}
	h.connect()
}

// move connects to the kernel behind the page's ID on target t (a switch).
func (h *channels) move(t *doorTarget) {
	h.mu.Lock()
	up := h.up
	if up != nil && up.target.key == t.key {
		up.target = t // the same server: the connection stays
		h.mu.Unlock()
		return
	}
	h.up = nil
	h.mu.Unlock()
	if up != nil {
		up.ws.Close(websocket.StatusNormalClosure, "")
	}
	h.connect()
}

// connect reaches the kernel behind the page's ID on whatever target
// serves, waiting for one and retrying until the page goes; a kernel the
// serving container does not have (none was carried for it) is said to
// the page as dead, as Jupyter says it.
func (h *channels) connect() {
	wait := 50 * time.Millisecond
	missing := 0
	for h.ctx.Err() == nil {
		t := h.d.await(h.ctx)
		if t == nil {
			return
		}
		h.mu.Lock()
		if h.up != nil {
			h.mu.Unlock()
			return // another move connected it
		}
		h.mu.Unlock()
		up, resp, err := h.d.dialKernel(h.ctx, t, h.path, h.query, h.offered)
		if err == nil {
			if cur, _ := h.d.current(); cur == nil || cur.key != t.key {
				up.ws.CloseNow() // switched meanwhile: the new target's kernel
				continue
			}
			h.attach(up)
			return
		}
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			if missing++; missing >= 3 {
				h.dead()
				return
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-h.ctx.Done():
			timer.Stop()
			return
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// dead tells the page its kernel is gone, as the server says it, and
// closes its socket.
func (h *channels) dead() {
	m := h.message("iopub", "status", nil, `{"execution_state": "dead"}`)
	typ, b := encodeMsg(h.proto, m)
	h.page.Write(h.ctx, typ, b)
	h.page.Close(websocket.StatusNormalClosure, "tfdev: the kernel is gone with its container")
}

// answer tells the page that request m failed with why: an error shown in
// the cell, the reply, and the kernel idle again for it; h.mu is held.
func (h *channels) answer(m *kmsg, why string) {
	content, _ := json.Marshal(map[string]any{"ename": "tfdev", "evalue": why, "traceback": []string{"tfdev: " + why}})
	reply, _ := json.Marshal(map[string]any{"status": "error", "ename": "tfdev", "evalue": why, "traceback": []string{"tfdev: " + why}, "execution_count": nil})
	replyType := strings.TrimSuffix(m.Type, "_request") + "_reply"
	for _, out := range []*kmsg{
		h.message("iopub", "error", m.Header, string(content)),
		h.message(m.Channel, replyType, m.Header, string(reply)),
		h.message("iopub", "status", m.Header, `{"execution_state": "idle"}`),
	} {
		typ, b := encodeMsg(h.proto, out)
		h.page.Write(h.ctx, typ, b)
	}
}

// message is a message of the door's own, as the kernel would send it.
func (h *channels) message(channel, typ string, parent json.RawMessage, content string) *kmsg {
	id := newMsgID()
	hdr, _ := json.Marshal(map[string]string{"msg_id": id, "msg_type": typ, "session": "tfdev-door", "username": "tfdev",
		"date": time.Now().UTC().Format(time.RFC3339Nano), "version": "5.3"})
	return &kmsg{Channel: channel, Header: hdr, Parent: orEmpty(parent), Metadata: json.RawMessage("{}"), Content: json.RawMessage(content), ID: id, Type: typ}
}

// track registers h with the door, so a switch moves it; false when the
// door is closing.
func (d *FrontDoor) track(h *channels) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	if d.held == nil {
		d.held = map[*channels]bool{}
	}
	d.held[h] = true
	return true
}

func (d *FrontDoor) untrack(h *channels) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.held, h)
}

// await is the target that serves, waiting for one; nil when ctx ends.
func (d *FrontDoor) await(ctx context.Context) *doorTarget {
	for {
		t, ready := d.current()
		if t != nil {
			return t
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil
		}
	}
}

// isChannels reports whether r opens a kernel's channels WebSocket.
func isChannels(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && channelsPath.MatchString(r.URL.Path)
}

func newMsgID() string { return randHex(16) }
