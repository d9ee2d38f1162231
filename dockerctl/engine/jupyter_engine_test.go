package engine

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

func TestJupyterContainer(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	// Hold the requested port: the container must move to a free one.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	c := runJupyter(t, model.RunOptions{Dir: dir, HostPort: busyPort, GPUs: "auto"})
	if c.HostPort == busyPort || c.HostPort == 0 {
		t.Errorf("host port %d (requested %d, which is taken)", c.HostPort, busyPort)
	}
	if len(c.Token) != 32 {
		t.Errorf("token %q is not 128 bits of hex", c.Token)
	}
	if c.GPU {
		t.Error("GPU requested on an Engine without GPUs")
	}
	if c.HostIP != "127.0.0.1" {
		t.Errorf("published on %q, want 127.0.0.1 only", c.HostIP)
	}
	if !strings.HasPrefix(c.Name, "tfdev-") || c.Workdir != "/tf" {
		t.Errorf("name %q workdir %q", c.Name, c.Workdir)
	}

	url, err := testEngine.WaitJupyter(ctx, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := "http://127.0.0.1:" + strconv.Itoa(c.HostPort) + "/?token=" + c.Token
	if url != want {
		t.Errorf("url %q, want %q", url, want)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(c.HostPort)
	if code, err := JupyterGet(ctx, base+"/api/status", c.Token); err != nil || code != http.StatusOK {
		t.Errorf("with token: %d %v", code, err)
	}
	if code, err := JupyterGet(ctx, base+"/api/status", ""); err != nil || code != http.StatusForbidden {
		t.Errorf("without token: %d %v, want 403", code, err)
	}
	if code, err := JupyterGet(ctx, base+"/api/status", "wrong"+c.Token); err != nil || code != http.StatusForbidden {
		t.Errorf("wrong token: %d %v, want 403", code, err)
	}

	// Found again by its label, with its token.
	found, err := testEngine.Find(ctx, dir)
	if err != nil || found == nil || found.ID != c.ID || found.Token != c.Token || found.HostPort != c.HostPort {
		t.Errorf("Find: %+v, %v", found, err)
	}
	other, err := testEngine.Find(ctx, t.TempDir())
	if err != nil || other != nil {
		t.Errorf("Find for another project: %+v, %v", other, err)
	}
}

// A container whose Jupyter never comes up gives an error with its logs.
func TestJupyterThatNeverAnswers(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	c, err := testEngine.Create(ctx, model.RunOptions{Dir: t.TempDir(), Image: testimage.Busybox, HostPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer testEngine.Remove(ctx, c.ID)
	// busybox's default command is sh, which exits at once without a tty.
	if err := testEngine.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	_, err = testEngine.WaitJupyter(ctx, c, 0)
	var ue *model.UnreachableJupyterError
	if !asError(err, &ue) || ue.LastErr != model.ErrNotRunning {
		t.Fatalf("err = %v", err)
	}
	// It gave up as soon as the container was gone, and says how long it
	// really waited, not the 90 s it would have.
	if ue.Waited >= ReadyTimeout || !strings.Contains(err.Error(), "within "+ue.Waited.String()) {
		t.Errorf("waited %v: %v", ue.Waited, err)
	}
}
