package frontdoor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
)

func backend(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			// A minimal upgrade: enough to prove the door passes it through.
			hj, _ := w.(http.Hijacker)
			c, rw, err := hj.Hijack()
			if err != nil {
				return
			}
			defer c.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString(name + " echo " + line)
			rw.Flush()
			return
		}
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// testToken is the session token of the doors the tests open.
const testToken = "0123456789abcdef"

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "token "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The front door forwards to the container that serves, switches without
// a failed request, makes requests wait while none serves, and passes
// WebSocket upgrades through.
func TestFrontDoor(t *testing.T) {
	d, taken, err := OpenFrontDoor("127.0.0.1", 0, testToken)
	if err != nil || taken != nil {
		t.Fatal(err, taken)
	}
	defer d.Close()
	door := fmt.Sprintf("http://127.0.0.1:%d", d.Port())
	a, b := backend(t, "a"), backend(t, "b")

	// No container yet: the request waits, and is served once one is.
	done := make(chan string, 1)
	go func() { _, body := get(t, door+"/api/status"); done <- body }()
	select {
	case body := <-done:
		t.Fatalf("answered before any container served: %q", body)
	case <-time.After(100 * time.Millisecond): // a bound on a negative, not a timing assertion
	}
	if err := d.Switch(a.URL); err != nil {
		t.Fatal(err)
	}
	if body := <-done; body != "a /api/status" {
		t.Errorf("the waiting request got %q", body)
	}
	if code, body := get(t, door+"/tree"); code != 200 || body != "a /tree" {
		t.Errorf("%d %q", code, body)
	}

	// A WebSocket through the door.
	c, br := upgrade(t, d)
	defer c.Close()
	fmt.Fprintf(c, "ping\n")
	if echo, _ := br.ReadString('\n'); echo != "a echo ping\n" {
		t.Errorf("websocket echo %q", echo)
	}

	// The switch: the next request reaches b.
	if err := d.Switch(b.URL); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, door+"/api/status"); body != "b /api/status" {
		t.Errorf("after the switch %q", body)
	}
	// Hold: requests wait again; the next switch serves them.
	d.Hold()
	go func() { _, body := get(t, door+"/x"); done <- body }()
	d.Switch(a.URL)
	if body := <-done; body != "a /x" {
		t.Errorf("after hold %q", body)
	}
}

// A taken port: the door takes a free one and says which.
func TestFrontDoorPortTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	d, taken, err := OpenFrontDoor("127.0.0.1", port, testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if taken == nil || taken.Asked != port || taken.Took != d.Port() || d.Port() == port {
		t.Errorf("taken %+v, door on %d", taken, d.Port())
	}
	// The holder is this test's own process, which the kernel names.
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !strings.Contains(taken.Error(), want) {
		t.Errorf("%q does not name %s", taken.Error(), want)
	}
}

// BenchmarkFrontDoorOverhead: a small GET straight to a server and through
// the front door, median of each.
func BenchmarkFrontDoorOverhead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"started": "2026-11-28T12:00:00Z", "kernels": 1}`))
	}))
	defer srv.Close()
	d, _, err := OpenFrontDoor("127.0.0.1", 0, testToken)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.Switch(srv.URL); err != nil {
		b.Fatal(err)
	}
	door := fmt.Sprintf("http://127.0.0.1:%d", d.Port())
	client := &http.Client{}
	measure := func(url string) time.Duration {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, url+"/api/status", nil)
		req.Header.Set("Authorization", "token "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start)
	}
	var direct, through []time.Duration
	for i := 0; i < b.N; i++ {
		direct = append(direct, measure(srv.URL))
		through = append(through, measure(door))
	}
	b.ReportMetric(float64(enginetest.Median(direct).Microseconds())/1000, "direct-ms")
	b.ReportMetric(float64(enginetest.Median(through).Microseconds())/1000, "door-ms")
}

// wsBackend upgrades, sends what send returns, and closes.
func wsBackend(t *testing.T, send []byte) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Write(send)
		rw.Flush()
	}))
	t.Cleanup(s.Close)
	return s
}

// upgrade opens a WebSocket through the door: the upgrade must be
// answered 101; the reader is past the answer's headers.
func upgrade(t *testing.T, d *FrontDoor) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.Port()))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /terminals/websocket/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token "+testToken+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	if status, _ := br.ReadString('\n'); !strings.Contains(status, "101") {
		c.Close()
		t.Fatalf("upgrade answered %q", status)
	}
	for line, _ := br.ReadString('\n'); line != "\r\n" && line != ""; line, _ = br.ReadString('\n') {
	}
	return c, br
}

// upgradeThrough opens a WebSocket through the door and returns all the
// server's side sent until the door closed it.
func upgradeThrough(t *testing.T, d *FrontDoor) []byte {
	c, br := upgrade(t, d)
	defer c.Close()
	rest, _ := io.ReadAll(br)
	return rest
}

// A WebSocket other than a kernel's channels (a terminal's) whose
// container goes away (a replacement) is closed with a close frame, 1012
// "service restart", so the page reconnects: not dropped. A close frame of the server's own is passed on alone; a
// connection cut in the middle of a frame cannot take one.
func TestFrontDoorClosesWebSocketsCleanly(t *testing.T) {
	d, _, err := OpenFrontDoor("127.0.0.1", 0, testToken)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	text := append([]byte{0x81, 5}, "hello"...)
	long := append([]byte{0x82, 126, 0x01, 0x00}, make([]byte, 256)...) // a 256-byte binary frame
	restart := closeFrame(wsRestartCode, wsRestartReason)
	own := []byte{0x88, 2, 0x03, 0xe9} // 1001, going away
	for _, c := range []struct {
		name       string
		send, want []byte
	}{
		{"the container stops", concat(text, long), concat(text, long, restart)},
		{"the server closed first", concat(text, own), concat(text, own)},
		{"cut in a frame", concat(text, long[:100]), concat(text, long[:100])},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := d.Switch(wsBackend(t, c.send).URL); err != nil {
				t.Fatal(err)
			}
			if got := upgradeThrough(t, d); !bytes.Equal(got, c.want) {
				t.Errorf("the browser got\n%q\nwant\n%q", got, c.want)
			}
		})
	}
	if code := binary.BigEndian.Uint16(restart[2:4]); code != 1012 {
		t.Errorf("close code %d", code)
	}
}

func concat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
