package dockerctl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The front door reaches a real Jupyter through the Engine's exec, with
// nothing of the door going to the published port: the notebook page,
// and a kernel's WebSocket both ways.
func TestFrontDoorThroughExec(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	c := runJupyter(t, model.RunOptions{HostPort: 0})
	if _, err := testEngine.WaitJupyter(context.Background(), c, 0); err != nil {
		t.Fatal(err)
	}
	d, _, err := frontdoor.OpenFrontDoor("127.0.0.1", 0, c.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dials := 0
	if err := d.SwitchVia("http://jupyter.invalid:8888", func(ctx context.Context) (net.Conn, error) {
		dials++
		return testEngine.DialJupyter(ctx, c.ID, model.JupyterPort)
	}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{}
	for i := 0; i < 3; i++ {
		pageLoad(t, client, d.Base(), c.Token)
	}
	ws := dialKernel(t, d.Base(), c.Token, startKernel(t, d.Base(), c.Token))
	defer ws.CloseNow()
	if out := kernelExec(t, ws, "print(6 * 7)"); out != "42" {
		t.Errorf("a cell through the exec tunnel: %q", out)
	}
	if dials == 0 || dials > 4 {
		t.Errorf("%d execs for 3 pages, a kernel start and its WebSocket: want connections kept alive", dials)
	}
	// A large download through the tunnel is byte-identical.
	served := testEngine.ServedDir(context.Background(), c)
	want := sh(t, c.ID, "head -c 52428800 /dev/urandom > "+served+"/big.bin && sha256sum "+served+"/big.bin | cut -d' ' -f1")
	resp, err := client.Get(d.Base() + "/files/big.bin?token=" + c.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil || resp.StatusCode != 200 || n != 50<<20 || hex.EncodeToString(h.Sum(nil)) != want {
		t.Errorf("50 MB through the tunnel: status %d, %d bytes (%v), sha256 %x, want %s", resp.StatusCode, n, err, h.Sum(nil), want)
	}
}

// A session whose door reaches Jupyter through exec publishes nothing:
// the wait for Jupyter, its probe and the door all go through the Engine's
// exec, and the URL serves the same.
func TestSessionJupyterViaExec(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := autoreloadProject(t)
	ready, _, _ := runSession(t, SessionOptions{Dir: dir, Port: 0, JupyterVia: JupyterViaExec})
	c, err := testEngine.Find(context.Background(), dir)
	if err != nil || c == nil || !c.Unpublished || c.HostPort != 0 {
		t.Fatalf("the container %+v (%v): want Jupyter published nowhere", c, err)
	}
	base, token, kernel := kernelThroughDoor(t, ready)
	ws := dialKernel(t, base, token, kernel)
	defer ws.CloseNow()
	if out := kernelExec(t, ws, "import model\nprint(model.f())"); out != "1" {
		t.Errorf("through the session's door: %q", out)
	}
	if !strings.HasPrefix(ready.URL, "http://127.0.0.1:") {
		t.Errorf("ready at %s", ready.URL)
	}
	// The kernel's WebSocket is open: a relay carries it.
	relays := sh(t, ready.Container, `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f; echo; done | grep -c "[/]tmp/.tfdev/relay.py" || true`)
	if relays == "0" || relays == "" {
		t.Error("no relay runs in the container: the door did not go through the Engine's exec")
	}
}

// --publish with the door through exec: the URL still goes through the
// Engine's exec, and Jupyter answers on the Engine's host too, at the
// published port, with the token.
func TestSessionViaExecAlsoPublished(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := autoreloadProject(t)
	ready, _, _ := runSession(t, SessionOptions{Dir: dir, Port: 0, JupyterVia: JupyterViaExec, Publish: true, HostIP: "127.0.0.1"})
	c, err := testEngine.Find(context.Background(), dir)
	if err != nil || c == nil || !c.Unpublished || c.HostPort == 0 {
		t.Fatalf("the container %+v (%v): want the door through exec, and a port published", c, err)
	}
	base, token, _ := kernelThroughDoor(t, ready)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":"+strconv.Itoa(c.HostPort)) {
		t.Errorf("the door %s is the published port %d", base, c.HostPort)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/status?token=%s", c.HostPort, token))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("Jupyter at the port published on the Engine's host: %d", resp.StatusCode)
	}
	relays := sh(t, ready.Container, `for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < $f; echo; done | grep -c "[/]tmp/.tfdev/relay.py" || true`)
	if relays == "0" || relays == "" {
		t.Error("no relay runs in the container: the door did not go through the Engine's exec")
	}
}

// BenchmarkFrontDoorExec: the notebook page and a kernel round trip
// through the door over the Engine's exec, beside the published port.
func BenchmarkFrontDoorExec(b *testing.B) {
	benchDoor(b, "exec", func(d *frontdoor.FrontDoor, c *model.Container) error {
		return d.SwitchVia(c.Base(), func(ctx context.Context) (net.Conn, error) {
			return testEngine.DialJupyter(ctx, c.ID, model.JupyterPort)
		})
	})
}
