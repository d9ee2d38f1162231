package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FrontDoor is tfdev's own listener on the user's port: it forwards HTTP
// and WebSocket traffic to the container that serves now, so the URL and
// its token never change, a replacement switches containers under it with
// no downtime, and requests that come while no container is ready wait for
// one instead of failing.
type FrontDoor struct {
	ln    net.Listener
	srv   *http.Server
	proxy *httputil.ReverseProxy
	wait  time.Duration

	guard *guard
	// lostHook, when set (by tests), learns of each kernel connection
	// lost behind the door.
	lostHook func()

	mu        sync.Mutex
	closed    bool
	held      map[*channels]bool // the pages' kernel channels, ended here
	target    *doorTarget
	ready     chan struct{} // closed while there is a target
	ids       *idMap        // the kernel and session IDs pages know, for the last target
	carried   map[string]string
	restarted map[string]bool
}

// doorTarget is where requests go now, and how they get there: straight
// to a published port, or through the Engine's exec (DialJupyter).
type doorTarget struct {
	key       string // which server: the container, else the base URL
	url       *url.URL
	rt        http.RoundTripper
	ids       *idMap
	restarted map[string]bool // its kernels that took an old one's place empty
}

// directTransport reaches a published port.
var directTransport http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// frontDoorWait bounds how long a request waits for a container.
const frontDoorWait = 2 * time.Minute

// PortTakenError says the user's port was taken, by what when the system
// says, and which port tfdev took instead.
type PortTakenError struct {
	Asked, Took int
	By          string // "python3 (pid 4242)"; "" when unknown
}

func (e *PortTakenError) Error() string {
	by := "another program"
	if e.By != "" {
		by = e.By
	}
	return fmt.Sprintf("port %d is taken by %s; tfdev took %d for this session", e.Asked, by, e.Took)
}

// OpenFrontDoor listens on hostIP:port (0: any free port). When the port is
// taken it listens on a free one and says so through taken. token is the
// session's: the door lets in what carries it (or the door's cookie,
// given for it) and presents it to the container's Jupyter.
func OpenFrontDoor(hostIP string, port int, token string) (d *FrontDoor, taken *PortTakenError, err error) {
	if token == "" {
		return nil, nil, errors.New("the front door needs the session's token")
	}
	if hostIP == "" {
		hostIP = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, strconv.Itoa(port)))
	if err != nil && port != 0 && errors.Is(err, syscall.EADDRINUSE) {
		ln, err = net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
		if err == nil {
			taken = &PortTakenError{Asked: port, Took: ln.Addr().(*net.TCPAddr).Port, By: portHolder(port)}
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s:%d for Jupyter: %w", hostIP, port, err)
	}
	d = &FrontDoor{ln: ln, wait: frontDoorWait, ready: make(chan struct{}), guard: newGuard(token, ln.Addr())}
	d.proxy = &httputil.ReverseProxy{
		Transport: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			return r.Context().Value(targetKey{}).(*doorTarget).rt.RoundTrip(r)
		}),
		Rewrite: func(r *httputil.ProxyRequest) {
			t := r.In.Context().Value(targetKey{}).(*doorTarget)
			r.SetURL(t.url)
			r.Out.Host = r.In.Host // Jupyter checks Origin against Host for WebSockets
			d.guard.upstream(r.Out)
			t.ids.request(r.Out)
		},
		ModifyResponse: func(resp *http.Response) error {
			downstream(resp)
			if err := resp.Request.Context().Value(targetKey{}).(*doorTarget).ids.response(resp); err != nil {
				return err
			}
			if rwc, ok := resp.Body.(io.ReadWriteCloser); ok && resp.StatusCode == http.StatusSwitchingProtocols &&
				strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
				resp.Body = &wsServerSide{ReadWriteCloser: rwc}
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "tfdev: the container did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	d.srv = &http.Server{Handler: d, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = d.srv.Serve(ln) }() // ends with Close
	return d, taken, nil
}

type targetKey struct{}

// Port is the port the front door listens on.
func (d *FrontDoor) Port() int { return d.ln.Addr().(*net.TCPAddr).Port }

// Switch sends new requests to the Jupyter at base ("http://127.0.0.1:PORT");
// requests and WebSockets under way stay with the container they reached.
func (d *FrontDoor) Switch(base string) error { return d.switchTo(base, base, directTransport) }

// SwitchVia sends new requests to the Jupyter of a container through
// dial (a connection through the Engine's exec): nothing published needed.
func (d *FrontDoor) SwitchVia(base string, dial func(ctx context.Context) (net.Conn, error)) error {
	return d.SwitchContainer(base, base, dial)
}

// SwitchContainer sends new requests to the Jupyter of container id at
// base, through dial when not nil. A switch to the container that serves
// already (the Engine back after a loss, a reattach) keeps the pages'
// kernel connections as they are.
func (d *FrontDoor) SwitchContainer(id, base string, dial func(ctx context.Context) (net.Conn, error)) error {
	if dial == nil {
		return d.switchTo(id, base, directTransport)
	}
	return d.switchTo(id, base, &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		MaxIdleConnsPerHost: 16, // each connection is an exec: kept alive and reused
		IdleConnTimeout:     90 * time.Second,
	})
}

func (d *FrontDoor) switchTo(key, base string, rt http.RoundTripper) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.target
	if d.carried != nil {
		d.ids = d.ids.then(d.carried) // kernels not carried are gone with their container
	}
	d.carried = nil
	d.target = &doorTarget{key: key, url: u, rt: rt, ids: d.ids, restarted: d.restarted}
	d.restarted = nil
	for h := range d.held {
		go h.move(d.target)
	}
	if old == nil {
		close(d.ready)
	} else if t, ok := old.rt.(*http.Transport); ok && old.rt != directTransport {
		t.CloseIdleConnections() // its execs end; connections under way stay
	}
	return nil
}

// Carry says that the next switch carries kernels and sessions: each old
// ID (the serving container's) to the new container's. Pages keep the IDs
// they know; the door maps them to the new container's.
func (d *FrontDoor) Carry(ids map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.carried = ids
}

// Restarted says that kernel id of the container the next switch goes
// to took an old kernel's place empty (its variables could not be
// carried): a page of it is told its kernel restarted.
func (d *FrontDoor) Restarted(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restarted == nil {
		d.restarted = map[string]bool{}
	}
	d.restarted[id] = true
}

// Shown is the ID pages know for a kernel or session of the container
// that serves: the one it was carried from, through every replacement.
func (d *FrontDoor) Shown(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids != nil {
		if s, ok := d.ids.shown[id]; ok {
			return s
		}
	}
	return id
}

// Hold makes new requests wait: no container serves now.
func (d *FrontDoor) Hold() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.target != nil {
		d.target = nil
		d.ready = make(chan struct{})
	}
}

func (d *FrontDoor) current() (*doorTarget, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target, d.ready
}

func (d *FrontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		d.guard.login(w, r, func(ctx context.Context, pw string) bool {
			t, _ := d.current()
			return t != nil && passwordAccepted(ctx, t, pw)
		})
		return
	case "/logout":
		http.SetCookie(w, &http.Cookie{Name: d.guard.cookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	by, ok := d.guard.admit(w, r)
	if !ok {
		return
	}
	if by == byQuery {
		d.guard.setSession(w)
	}
	if r.Method == http.MethodGet && !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		ensureXSRF(w, r)
	}
	target, ready := d.current()
	if target == nil {
		t := time.NewTimer(d.wait)
		defer t.Stop()
		select {
		case <-ready:
			target, _ = d.current()
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		if target == nil {
			http.Error(w, "tfdev: no container serves Jupyter yet; see tfdev's output", http.StatusServiceUnavailable)
			return
		}
	}
	if isChannels(r) {
		d.holdChannels(w, r, target)
		return
	}
	d.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, target)))
}

// Close stops listening and ends the connections through the door. The
// pages' kernel sockets are cut, not closed: a page reconnects by itself
// after a cut, so a tfdev started again on the port finds them back.
func (d *FrontDoor) Close() error {
	d.mu.Lock()
	d.closed = true
	held := d.held
	d.held = nil
	d.mu.Unlock()
	for h := range held {
		h.page.CloseNow()
		h.cancel()
	}
	return d.srv.Close()
}

// URL turns a container's Jupyter URL (its path and token) into the same
// URL through the front door.
func (d *FrontDoor) URL(containerURL string) string {
	u, err := url.Parse(containerURL)
	if err != nil {
		return containerURL
	}
	u.Host = d.ln.Addr().String()
	return u.String()
}

// Base is the front door's address, "http://127.0.0.1:8888".
func (d *FrontDoor) Base() string { return "http://" + d.ln.Addr().String() }
