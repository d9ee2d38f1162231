package frontdoor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeJupyter answers the kernels and sessions API with the IDs it holds,
// echoes what it was asked (path and body) elsewhere, and records it.
func fakeJupyter(t *testing.T, kernel, session string) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+string(body)))
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/kernels":
			fmt.Fprintf(w, `[{"id": %q, "name": "python3"}]`, kernel)
		case r.URL.Path == "/api/sessions" && r.Method == http.MethodGet:
			fmt.Fprintf(w, `[{"id": %q, "path": "a.ipynb", "kernel": {"id": %q}}]`, session, kernel)
		default:
			w.Header().Set("Location", r.URL.Path)
			json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "body": string(body)})
		}
	}))
	t.Cleanup(s.Close)
	return s, &seen
}

// Pages keep the kernel and session IDs they know across replacements
// that carry kernels: requests naming them reach the new ones, answers
// name the old ones, and a second replacement maps them again.
func TestFrontDoorKeepsKernelIDs(t *testing.T) {
	d, _, err := OpenFrontDoor("127.0.0.1", 0, testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	first, _ := fakeJupyter(t, "k1", "s1")
	second, seen := fakeJupyter(t, "k2", "s2")
	third, _ := fakeJupyter(t, "k3", "s3")
	if err := d.Switch(first.URL); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d.Base()+"/api/kernels/k1"); !strings.Contains(body, `"/api/kernels/k1"`) {
		t.Fatalf("before any replacement the path is the page's: %s", body)
	}
	d.Carry(map[string]string{"k1": "k2", "s1": "s2"})
	if err := d.Switch(second.URL); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{"/api/kernels", `"id": "k1"`},
		{"/api/sessions", `[{"id": "s1", "path": "a.ipynb", "kernel": {"id": "k1"}}]`},
		{"/api/kernels/k1", `"/api/kernels/k1"`},          // the server saw k2; the answer names k1
		{"/api/kernels/k1/channels", `"/api/kernels/k1/`}, // the WebSocket's path
	} {
		if _, body := get(t, d.Base()+tc.path); !strings.Contains(body, tc.want) {
			t.Errorf("GET %s through the door: %s, want %s", tc.path, body, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, d.Base()+"/api/kernels/k1/interrupt", nil)
	req.Header.Set("Authorization", "token "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); loc != "/api/kernels/k1/interrupt" {
		t.Errorf("Location %q names the server's ID", loc)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPatch, d.Base()+"/api/sessions/s1", strings.NewReader(`{"kernel": {"id": "k1"}}`))
	req.Header.Set("Authorization", "token "+testToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]string
	json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if answer["path"] != "/api/sessions/s1" || answer["body"] != `{"kernel": {"id": "k1"}}` {
		t.Errorf("the page sees its own IDs: %v", answer)
	}
	// What the new server saw: its own IDs, never the page's.
	want := []string{"GET /api/kernels", "GET /api/sessions", "GET /api/kernels/k2", "GET /api/kernels/k2/channels",
		"GET /api/kernels/k2/interrupt", `PATCH /api/sessions/s2 {"kernel": {"id": "k2"}}`}
	if strings.Join(*seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the new server saw\n%s\nwant\n%s", strings.Join(*seen, "\n"), strings.Join(want, "\n"))
	}

	d.Carry(map[string]string{"k2": "k3", "s2": "s3"})
	if err := d.Switch(third.URL); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d.Base()+"/api/sessions"); !strings.Contains(body, `"id": "s1"`) || !strings.Contains(body, `{"id": "k1"}`) {
		t.Errorf("after two replacements the page's IDs: %s", body)
	}
	// A replacement that carries nothing: the old IDs name nothing.
	d.Carry(map[string]string{})
	if err := d.Switch(first.URL); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, d.Base()+"/api/kernels"); !strings.Contains(body, `"id": "k1"`) {
		t.Errorf("no mapping left: %s", body)
	}
}

// The server's side of the map: what reaches it names its own IDs.
func TestKernelIDsRequest(t *testing.T) {
	m := (*idMap)(nil).then(map[string]string{"k1": "k2", "s1": "s2"})
	m = m.then(map[string]string{"k2": "k3", "s2": "s3"})
	for in, want := range map[string]string{
		"/api/kernels/k1/channels": "/api/kernels/k3/channels",
		"/api/kernels/k2":          "/api/kernels/k3",
		"/user/x/api/sessions/s1":  "/user/x/api/sessions/s3",
		"/api/contents/k1":         "/api/contents/k1", // not an ID here
		"/files/api/kernels.txt":   "/files/api/kernels.txt",
	} {
		if got := m.path(in); got != want {
			t.Errorf("path(%s) = %s, want %s", in, got, want)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/api/sessions", strings.NewReader(`{"kernel": {"id": "k1"}}`))
	m.request(r)
	if b, _ := io.ReadAll(r.Body); string(b) != `{"kernel": {"id": "k3"}}` || r.ContentLength != int64(len(b)) {
		t.Errorf("the session's body: %s (%d)", b, r.ContentLength)
	}
	if m.shown["k3"] != "k1" || m.shown["s3"] != "s1" {
		t.Errorf("shown: %v", m.shown)
	}
}
