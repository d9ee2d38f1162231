package frontdoor

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
)

// A replacement that carries kernels starts new ones, with new IDs, in the
// new container; the pages open in the browser know the old IDs. The door
// keeps the IDs the pages know: a request naming an old kernel or session
// (/api/kernels/<id>, its channels WebSocket, /api/sessions/<id>, a
// session's body) goes to the new one, and the server's answers about
// kernels and sessions name the old IDs again. A page whose WebSocket
// closed reconnects under the ID it knows and finds the kernel, variables
// and all, in the new container.

// idMap holds, for one target, the IDs the pages know (shown) and the
// target's own (current). It is not changed once a target has it.
type idMap struct {
	current map[string]string // shown (or an earlier current) -> current
	shown   map[string]string // current -> shown
}

// then is m followed by a replacement that maps the old target's current
// IDs to the new target's (carried): a page that knew an ID before either
// replacement reaches the newest kernel.
func (m *idMap) then(carried map[string]string) *idMap {
	n := &idMap{current: map[string]string{}, shown: map[string]string{}}
	if len(carried) == 0 {
		return n // kernels of the old target are gone: nothing to map
	}
	for old, cur := range carried {
		shown := old
		if m != nil {
			if s, ok := m.shown[old]; ok {
				shown = s
			}
		}
		n.shown[cur] = shown
		n.current[shown] = cur
		n.current[old] = cur
	}
	return n
}

func (m *idMap) empty() bool { return m == nil || len(m.current) == 0 }

// apiPath reports whether p is under Jupyter's kernels or sessions API.
func apiPath(p string) bool {
	return strings.Contains(p, "/api/kernels") || strings.Contains(p, "/api/sessions")
}

// path turns the IDs a page knows in p into the target's.
func (m *idMap) path(p string) string {
	if m.empty() || !apiPath(p) {
		return p
	}
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		if parts[i-1] == "kernels" || parts[i-1] == "sessions" {
			if cur, ok := m.current[parts[i]]; ok {
				parts[i] = cur
			}
		}
	}
	return strings.Join(parts, "/")
}

// replace rewrites every ID of from found in b.
func replaceIDs(b []byte, from map[string]string) []byte {
	for a, z := range from {
		b = bytes.ReplaceAll(b, []byte(a), []byte(z))
	}
	return b
}

// request turns the IDs a page knows into the target's in r's body (a
// session's kernel) and path.
func (m *idMap) request(r *http.Request) {
	if m.empty() || !apiPath(r.URL.Path) {
		return
	}
	r.URL.Path, r.URL.RawPath = m.path(r.URL.Path), ""
	r.Header.Del("Accept-Encoding") // answers are rewritten: plain JSON
	if r.Body == nil || r.Body == http.NoBody || !strings.Contains(r.URL.Path, "/api/sessions") {
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body.Close()
	if err != nil {
		r.Body = io.NopCloser(bytes.NewReader(nil))
		return
	}
	b = replaceIDs(b, m.current)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	r.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

// response turns the target's IDs in an answer about kernels or sessions
// into the ones the page knows.
func (m *idMap) response(resp *http.Response) error {
	if m.empty() || resp.Request == nil || !apiPath(resp.Request.URL.Path) || resp.StatusCode == http.StatusSwitchingProtocols {
		return nil
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		resp.Header.Set("Location", string(replaceIDs([]byte(loc), m.shown)))
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "json") || resp.Header.Get("Content-Encoding") != "" {
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	b = replaceIDs(b, m.shown)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	return nil
}

// Known is what the door maps for the container that serves: each of its
// kernel and session IDs that pages know by another, to that one. A tfdev
// started again on the project gives it back to its door (Restore), so
// pages open across the restart keep their IDs.
func (d *FrontDoor) Known() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		return nil
	}
	return maps.Clone(d.ids.shown)
}

// Restore gives the door what an earlier door on the project knew
// (Known's map) for the container it switches to next.
func (d *FrontDoor) Restore(shown map[string]string) {
	if len(shown) == 0 {
		return
	}
	m := &idMap{current: map[string]string{}, shown: maps.Clone(shown)}
	for cur, s := range shown {
		m.current[s] = cur
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = m
}

// currentOf is the target's ID for the ID a page knows.
func (m *idMap) currentOf(id string) string {
	if m != nil {
		if cur, ok := m.current[id]; ok {
			return cur
		}
	}
	return id
}
