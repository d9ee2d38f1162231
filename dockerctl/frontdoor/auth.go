package frontdoor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The door owns the browser's session. A page's login to a Jupyter is a
// cookie signed with that server's secret, which a new container does not
// share: after a replacement every request of the page would fail with
// 403. So the URL's token is checked here, once, and the browser gets a
// cookie of the door's own, derived from the project's token (the same
// across replacements and across restarts of tfdev on the project); the
// door authenticates to the container's Jupyter itself (its token in an
// Authorization header), and no cookie of a container reaches the browser.
//
// Owning the session means owning its safety, as Jupyter does for its own:
// the cookie is HttpOnly and SameSite=Strict; the Host header must name
// the loopback when the door listens there (DNS rebinding); a WebSocket
// handshake and every request that changes state must come from the
// door's own origin; and such a request made with the cookie carries the
// _xsrf token (Tornado's double-submit check, which Jupyter skips for
// requests authenticated by token, as the container's now are).

// guard checks the browser's side of every request.
type guard struct {
	token    string
	cookie   string // the session cookie's name, per port: cookies do not tell ports apart
	session  string // its value
	loopback bool   // the door listens on the loopback: Host must name it
}

func newGuard(token string, ln net.Addr) *guard {
	port, ip := 0, net.IP(nil)
	if a, ok := ln.(*net.TCPAddr); ok {
		port, ip = a.Port, a.IP
	}
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("tfdev front door session v1"))
	return &guard{
		token:    token,
		cookie:   "tfdev-session-" + strconv.Itoa(port),
		session:  base64.RawURLEncoding.EncodeToString(mac.Sum(nil)),
		loopback: ip != nil && ip.IsLoopback(),
	}
}

// how says how a request was let in.
type how int

const (
	refused how = iota
	byHeader
	byQuery
	byCookie
)

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// allowedHost reports whether r's Host may reach the door: when it
// listens on the loopback, only loopback addresses and localhost (a page
// of another site whose name was made to resolve to 127.0.0.1 names its
// own host).
func (g *guard) allowedHost(host string) bool {
	if !g.loopback {
		return true
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether r's Origin (when it has one) is the door's
// own: the scheme and host the request was sent to.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser's cross-origin request: browsers send it on those
	}
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && strings.EqualFold(u.Host, r.Host)
}

// unsafeMethod is a request that changes state.
func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// admit decides whether r may pass, and answers it when not.
func (g *guard) admit(w http.ResponseWriter, r *http.Request) (how, bool) {
	if !g.allowedHost(r.Host) {
		refuse(w, http.StatusForbidden, "tfdev: Host "+strconv.Quote(r.Host)+" is not this machine's loopback; open the URL tfdev printed")
		return refused, false
	}
	websocket := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	if (websocket || unsafeMethod(r.Method)) && !sameOrigin(r) {
		refuse(w, http.StatusForbidden, "tfdev: a request from "+r.Header.Get("Origin")+" may not reach this Jupyter")
		return refused, false
	}
	by := refused
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "token "); ok && same(strings.TrimSpace(t), g.token) {
			by = byHeader
		}
	}
	if by == refused {
		if t := r.URL.Query().Get("token"); t != "" && same(t, g.token) {
			by = byQuery
		}
	}
	if by == refused {
		if c, err := r.Cookie(g.cookie); err == nil && same(c.Value, g.session) {
			by = byCookie
		}
	}
	if by == refused {
		if r.Method == http.MethodGet && !websocket && !strings.Contains(r.URL.Path, "/api/") {
			loginPage(w, r, "", http.StatusForbidden)
		} else {
			refuse(w, http.StatusForbidden, "tfdev: this Jupyter needs its token: open the URL tfdev printed (with ?token=)")
		}
		return refused, false
	}
	// A request that changes state, made with the cookie, must carry the
	// _xsrf token a page of this origin can read: a form of another site
	// (which SameSite=Strict already keeps the cookie from) cannot.
	if by == byCookie && unsafeMethod(r.Method) && !websocket && !xsrfOK(r) {
		refuse(w, http.StatusForbidden, "tfdev: '_xsrf' argument missing or not matching its cookie; reload the page")
		return refused, false
	}
	return by, true
}

// setSession gives the browser the door's session cookie.
func (g *guard) setSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func refuse(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, "{\"message\": %s, \"reason\": null}\n", strconv.Quote(msg))
}

// upstream turns the browser's request into the container's: the door's
// token in the Authorization header, and none of the browser's
// credentials (the door's cookie, the query's token, a container's login
// cookie).
func (g *guard) upstream(r *http.Request) {
	r.Header.Set("Authorization", "token "+g.token)
	if q := r.URL.Query(); q.Has("token") {
		q.Del("token")
		r.URL.RawQuery = q.Encode()
	}
	cookies := r.Cookies()
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name == g.cookie || strings.HasPrefix(c.Name, "username-") {
			continue
		}
		r.AddCookie(c)
	}
}

// downstream drops the container's login cookie from its answer: it is
// signed with that container's secret, and the door's session stands for
// it.
func downstream(resp *http.Response) {
	set := resp.Header.Values("Set-Cookie")
	if len(set) == 0 {
		return
	}
	resp.Header.Del("Set-Cookie")
	for _, c := range set {
		if !strings.HasPrefix(c, "username-") {
			resp.Header.Add("Set-Cookie", c)
		}
	}
}

// xsrfOK is Tornado's check: the _xsrf argument or X-XSRFToken header
// holds the token of the _xsrf cookie.
func xsrfOK(r *http.Request) bool {
	c, err := r.Cookie("_xsrf")
	if err != nil {
		return false
	}
	sent := r.Header.Get("X-Xsrftoken")
	if sent == "" {
		sent = r.Header.Get("X-Csrftoken")
	}
	if sent == "" {
		sent = r.URL.Query().Get("_xsrf")
	}
	if sent == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		sent = r.PostFormValue("_xsrf")
	}
	want, got := xsrfToken(c.Value), xsrfToken(sent)
	return len(want) > 0 && hmac.Equal(want, got)
}

// xsrfToken decodes a Tornado _xsrf value: "2|mask|masked|time" (version
// 2, the token XORed with a 4-byte mask), else the hex of the token.
func xsrfToken(v string) []byte {
	if parts := strings.Split(v, "|"); len(parts) == 4 && parts[0] == "2" {
		mask, err1 := hex.DecodeString(parts[1])
		masked, err2 := hex.DecodeString(parts[2])
		if err1 != nil || err2 != nil || len(mask) != 4 {
			return nil
		}
		for i := range masked {
			masked[i] ^= mask[i%4]
		}
		return masked
	}
	if b, err := hex.DecodeString(v); err == nil {
		return b
	}
	return []byte(v)
}

// newXSRF makes an _xsrf cookie value as Tornado does (version 2).
func newXSRF() string {
	token, mask := make([]byte, 16), make([]byte, 4)
	rand.Read(token)
	rand.Read(mask)
	masked := make([]byte, len(token))
	for i := range token {
		masked[i] = token[i] ^ mask[i%4]
	}
	return fmt.Sprintf("2|%s|%s|%d", hex.EncodeToString(mask), hex.EncodeToString(masked), time.Now().Unix())
}

// ensureXSRF gives a page an _xsrf cookie when the browser has none, so
// its requests that change state can carry one whatever the container's
// Jupyter sets.
func ensureXSRF(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie("_xsrf"); err == nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "_xsrf", Value: newXSRF(), Path: "/", SameSite: http.SameSiteStrictMode})
}

// login is the door's own /login: a form that takes the token (or the
// password the user set in Jupyter, which accepts checks), for a browser
// that came without it.
func (g *guard) login(w http.ResponseWriter, r *http.Request, accepts func(context.Context, string) bool) {
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	if r.Method != http.MethodPost {
		loginPage(w, r, "", http.StatusOK)
		return
	}
	if !sameOrigin(r) {
		refuse(w, http.StatusForbidden, "tfdev: a login from "+r.Header.Get("Origin")+" is refused")
		return
	}
	pw := r.PostFormValue("password")
	if !same(pw, g.token) && (pw == "" || accepts == nil || !accepts(r.Context(), pw)) {
		loginPage(w, r, "That is neither this session's token nor the password of its Jupyter.", http.StatusUnauthorized)
		return
	}
	g.setSession(w)
	http.Redirect(w, r, next, http.StatusFound)
}

// passwordAccepted asks the Jupyter of target t whether pw is the
// password its user set: its own login form, answered with a redirect
// when it is. Jupyter's settings stay honoured: a user who set a password
// logs in at the door with it, as with Jupyter.
func passwordAccepted(ctx context.Context, t *doorTarget, pw string) bool {
	xsrf := newXSRF()
	form := url.Values{"password": {pw}, "_xsrf": {xsrf}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url.String()+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "_xsrf", Value: xsrf})
	c := &http.Client{Transport: t.rt, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return (resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther) && len(resp.Cookies()) > 0
}

func loginPage(w http.ResponseWriter, r *http.Request, msg string, code int) {
	next := r.URL.RequestURI()
	if r.URL.Path == "/login" {
		next = r.URL.Query().Get("next")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, `<!doctype html><title>tfdev: Jupyter</title>
<h1>This Jupyter needs its token</h1>
<p>Open the URL <code>tfdev up</code> printed (it ends with <code>?token=...</code>), or paste the token (<code>tfdev status</code> shows it).</p>
<p style="color:#b00">%s</p>
<form method="post" action="/login"><input type="hidden" name="next" value="%s">
<input type="password" name="password" autofocus> <button type="submit">Log in</button></form>
`, html.EscapeString(msg), html.EscapeString(next))
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
