package frontdoor

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// seenUpstream is what a fake Jupyter saw of the last request: its
// credentials and query.
type seenUpstream struct {
	auth, cookies, query string
}

func authBackend(t *testing.T, seen *seenUpstream) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*seen = seenUpstream{r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.URL.RawQuery}
		// A Jupyter logs a token-authenticated browser in with a cookie
		// signed by its own secret.
		http.SetCookie(w, &http.Cookie{Name: "username-127-0-0-1-8888", Value: "signed-by-this-container", Path: "/"})
		w.Write([]byte("ok " + r.Method + " " + r.URL.Path))
	}))
	t.Cleanup(s.Close)
	return s
}

func doorFor(t *testing.T, token string, backend string) *FrontDoor {
	t.Helper()
	d, _, err := OpenFrontDoor("127.0.0.1", 0, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Switch(backend); err != nil {
		t.Fatal(err)
	}
	return d
}

func do(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

// The door checks the URL's token once and gives the browser a cookie of
// its own: HttpOnly, SameSite=Strict, the same from a door started again
// with the project's token (tfdev restarted), worth nothing at a door of
// another token. The container sees the door's token and none of the
// browser's credentials, and its own login cookie never reaches the
// browser. Without the token or the cookie nothing passes.
func TestDoorSession(t *testing.T) {
	var seen seenUpstream
	up := authBackend(t, &seen)
	d := doorFor(t, testToken, up.URL)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if resp, body := do(t, browser, "GET", d.Base()+"/api/contents", nil); resp.StatusCode != http.StatusForbidden || strings.HasPrefix(body, "ok") {
		t.Errorf("no token: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, browser, "GET", d.Base()+"/tree", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `action="/login"`) {
		t.Errorf("a page without the token gets the login form: %d %q", resp.StatusCode, body)
	}
	if resp, _ := do(t, browser, "GET", d.Base()+"/api/contents?token=wrong", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a wrong token: %d", resp.StatusCode)
	}

	resp, body := do(t, browser, "GET", d.Base()+"/tree?token="+testToken+"&x=1", map[string]string{"Cookie": "username-127-0-0-1-8888=old"})
	if resp.StatusCode != 200 || body != "ok GET /tree" {
		t.Fatalf("with the token: %d %q", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		switch {
		case strings.HasPrefix(c.Name, "tfdev-session-"):
			session = c
		case strings.HasPrefix(c.Name, "username-"):
			t.Errorf("the container's login cookie reached the browser: %v", c)
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("the door's cookie: %+v", session)
	}
	if seen.auth != "token "+testToken || strings.Contains(seen.query, "token") || seen.query != "x=1" || strings.Contains(seen.cookies, "username-") || strings.Contains(seen.cookies, "tfdev-session") {
		t.Errorf("the container saw %+v", seen)
	}

	// The cookie alone, now and at a door started again on the project.
	if resp, body := do(t, browser, "GET", d.Base()+"/api/contents", nil); resp.StatusCode != 200 || seen.auth != "token "+testToken {
		t.Errorf("with the cookie: %d %q", resp.StatusCode, body)
	}
	for _, c := range []struct {
		token string
		code  int
	}{{testToken, 200}, {"another-project-token", 403}} {
		again := doorFor(t, c.token, up.URL)
		if resp, _ := do(t, &http.Client{}, "GET", again.Base()+"/api/contents", map[string]string{"Cookie": again.guard.cookie + "=" + session.Value}); resp.StatusCode != c.code {
			t.Errorf("the cookie at a door of token %q: %d, want %d", c.token, resp.StatusCode, c.code)
		}
	}

	// The login form takes the token too.
	resp, _ = do(t, &http.Client{CheckRedirect: browser.CheckRedirect}, "POST", d.Base()+"/login?next=/tree", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an empty login: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", d.Base()+"/login", strings.NewReader("password="+testToken+"&next=/notebooks/a.ipynb"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := (&http.Client{CheckRedirect: browser.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/notebooks/a.ipynb" || len(resp.Cookies()) == 0 || resp.Cookies()[0].Value != session.Value {
		t.Errorf("a login with the token: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
}

// The attacks a door that owns a browser session must stop, each tried
// with the user's valid cookie, as a page of another site open in the
// same browser would have it sent: a name of the attacker's that resolves
// to 127.0.0.1 (DNS rebinding), a WebSocket to a kernel from another
// origin, a request that changes state from another origin, and one from
// this origin without the _xsrf token a page of the door can read.
func TestDoorRefusesAttacks(t *testing.T) {
	var seen seenUpstream
	up := authBackend(t, &seen)
	d := doorFor(t, testToken, up.URL)
	cookie := d.guard.cookie + "=" + d.guard.session
	xsrf := newXSRF()
	// The same token, masked anew, as a page sends it back.
	resent := xsrfWith(xsrfToken(xsrf))
	host := strings.TrimPrefix(d.Base(), "http://")
	c := &http.Client{}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
	}{
		{"DNS rebinding", "GET", "/api/contents", map[string]string{"Cookie": cookie, "Host": "attacker.example:" + strings.Split(host, ":")[1]}, 403},
		{"DNS rebinding with the token", "GET", "/api/contents?token=" + testToken, map[string]string{"Host": "attacker.example"}, 403},
		{"another site's POST", "POST", "/api/kernels", map[string]string{"Cookie": cookie + "; _xsrf=" + xsrf, "X-XSRFToken": resent, "Origin": "http://attacker.example"}, 403},
		{"another site's DELETE", "DELETE", "/api/contents/a.ipynb", map[string]string{"Cookie": cookie + "; _xsrf=" + xsrf, "X-XSRFToken": resent, "Origin": "http://127.0.0.1:9999"}, 403},
		{"no _xsrf", "POST", "/api/kernels", map[string]string{"Cookie": cookie, "Origin": d.Base()}, 403},
		{"an _xsrf of another token", "PUT", "/api/contents/a.ipynb", map[string]string{"Cookie": cookie + "; _xsrf=" + xsrf, "X-XSRFToken": newXSRF(), "Origin": d.Base()}, 403},
		// What a page of the door does: allowed.
		{"the page's own save", "PUT", "/api/contents/a.ipynb", map[string]string{"Cookie": cookie + "; _xsrf=" + xsrf, "X-XSRFToken": resent, "Origin": d.Base()}, 200},
		{"localhost", "GET", "/api/contents", map[string]string{"Cookie": cookie, "Host": "localhost:" + strings.Split(host, ":")[1]}, 200},
		{"an API client with the token", "POST", "/api/kernels", map[string]string{"Authorization": "token " + testToken}, 200},
	} {
		seen = seenUpstream{}
		resp, body := do(t, c, tc.method, d.Base()+tc.path, tc.hdr)
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, resp.StatusCode, body, tc.code)
		}
		if tc.code == 403 && seen.auth != "" {
			t.Errorf("%s reached the container", tc.name)
		}
	}

	// A kernel's WebSocket opened by a page of another site, with the
	// user's cookie: refused before it reaches a kernel.
	_, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(d.Base(), "http")+"/api/kernels/k1/channels",
		&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {cookie}, "Origin": {"http://attacker.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a WebSocket from another origin: %v %v", resp, err)
	}
}

// xsrfWith masks token as Tornado does, with a mask of its own.
func xsrfWith(token []byte) string {
	mask := []byte{0x13, 0x37, 0x42, 0x99}
	masked := make([]byte, len(token))
	for i := range token {
		masked[i] = token[i] ^ mask[i%4]
	}
	return "2|13374299|" + hex.EncodeToString(masked) + "|1700000000"
}

// A password the user set in the image's Jupyter logs in at the door too:
// the door asks that Jupyter's own login form, and gives its cookie when
// Jupyter would have given its own. A wrong one gets nothing.
func TestDoorHonoursJupytersPassword(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("_xsrf")
		if r.URL.Path != "/login" || r.Method != "POST" || err != nil || r.PostFormValue("_xsrf") != c.Value || r.Header.Get("Authorization") != "" {
			http.Error(w, "not a login", http.StatusForbidden)
			return
		}
		if r.PostFormValue("password") != "the user's password" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "username-x", Value: "signed"})
		http.Redirect(w, r, "/tree", http.StatusFound)
	}))
	defer up.Close()
	d := doorFor(t, testToken, up.URL)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		pw   string
		code int
	}{{"the user's password", http.StatusFound}, {"a guess", http.StatusUnauthorized}} {
		req, _ := http.NewRequest("POST", d.Base()+"/login", strings.NewReader("password="+url.QueryEscape(c.pw)+"&next=/tree"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		gotCookie := len(resp.Cookies()) > 0 && resp.Cookies()[0].Name == d.guard.cookie
		if resp.StatusCode != c.code || gotCookie != (c.code == http.StatusFound) {
			t.Errorf("logging in with %q: %d, cookie %v", c.pw, resp.StatusCode, resp.Cookies())
		}
	}
}
