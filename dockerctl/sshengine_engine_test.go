package dockerctl

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/frontdoor"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/dockerctl/testssh"
	"github.com/tfdev-dev/tfdev/watcher"
)

// An Engine over ssh, as DOCKER_HOST=ssh://user@host:port: the ping, a
// container, the sync agent and an exec all go through ssh's connection
// (`docker system dial-stdio` on the other side). A host that does not
// resolve, a port where nothing listens and a user whose key is refused
// are errors naming the host, in ssh's words, within the bound.
func TestEngineOverSSH(t *testing.T) {
	requireEngine(t)
	ssh := testssh.Start(t)
	port, login := ssh.Port, ssh.User
	e := engineOver(t, ssh)
	if !strings.HasPrefix(e.Host, "ssh://") {
		t.Errorf("the Engine's address %q", e.Host)
	}
	ctx, yes := context.Background(), true
	c, err := e.API().ContainerCreate(ctx, &container.Config{Image: testimage.Busybox, Cmd: []string{"sleep", "3600"}}, &container.HostConfig{Init: &yes}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(context.Background(), c.ID)
	if err := e.API().ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "train.py", "print('over ssh')\n")
	if _, err := e.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("train.py", watcher.Changed)}, model.NewLedger()); err != nil {
		t.Fatal(err)
	}
	if a := e.AgentFor(ctx, c.ID); a == nil {
		t.Error("no sync agent over ssh")
	}
	if out, err := e.ExecOK(ctx, c.ID, "cat", "/app/train.py"); err != nil || string(out) != "print('over ssh')\n" {
		t.Errorf("over ssh, the container has %q (%v)", out, err)
	}

	for _, bad := range []struct{ host, says string }{
		{"ssh://" + login + "@nosuchhost.invalid", "nosuchhost.invalid"},
		{fmt.Sprintf("ssh://%s@127.0.0.1:1", login), "Connection refused"},
		{fmt.Sprintf("ssh://nosuchuser-tfdev@127.0.0.1:%d", port), "Permission denied"},
	} {
		t.Setenv("DOCKER_HOST", bad.host)
		_, err := engine.Connect(context.Background())
		if err == nil || !strings.Contains(err.Error(), bad.host) || !strings.Contains(err.Error(), "ssh says") || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: %v", bad.host, err)
		}
	}
	// A key the machine does not accept.
	t.Setenv("PATH", ssh.WrongKeyBin+":"+ssh.PathEnv())
	t.Setenv("DOCKER_HOST", ssh.Host())
	if _, err := engine.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), ssh.Host()) || !strings.Contains(err.Error(), "Permission denied") {
		t.Errorf("a refused key: %v", err)
	}
	// A machine with no docker to dial the Engine with.
	bare := testssh.StartWith(t, testssh.Options{NoDocker: true})
	t.Setenv("PATH", bare.PathEnv())
	t.Setenv("DOCKER_HOST", bare.Host())
	if _, err := engine.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), bare.Host()) || !strings.Contains(err.Error(), "no docker command") {
		t.Errorf("a machine without docker: %v", err)
	}
}

// An ssh docker context (made by the docker CLI) is used as DOCKER_HOST
// is: a build goes over ssh with its session, and sends only the file that
// changed the second time.
func TestSSHContextBuilds(t *testing.T) {
	requireEngine(t)
	ssh := testssh.Start(t)
	t.Setenv("PATH", ssh.PathEnv())
	cfg := t.TempDir()
	if out, err := exec.Command("docker", "--config", cfg, "context", "create", "gpu-box", "--docker", "host="+ssh.Host()).CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v %s", err, out)
	}
	t.Setenv("DOCKER_CONFIG", cfg)
	t.Setenv("DOCKER_CONTEXT", "gpu-box")
	t.Setenv("DOCKER_HOST", "")
	e, err := engine.Connect(context.Background())
	if err != nil {
		t.Fatalf("through the ssh context: %v", err)
	}
	defer e.Close()
	if e.Host != ssh.Host() {
		t.Errorf("the context's Engine is %q, want %q", e.Host, ssh.Host())
	}
	dir, p := bigContext(t, "FROM "+testimage.Busybox+"\nWORKDIR /app\nCOPY . /app\n")
	ref := "tfdev-test/sshctx:" + nonce(t)
	removeImageOnCleanup(t, ref)
	for i, want := range []string{"", "train.py"} {
		writeFile(t, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
		res, err := e.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit})
		if err != nil {
			t.Fatal(err)
		}
		removeImageOnCleanup(t, res.ImageID)
		if res.ContextVia != engine.ContextViaSession {
			t.Errorf("over ssh the context went as %s", res.ContextVia)
		}
		if want != "" && !slices.Equal(res.ContextSent, []string{want}) {
			t.Errorf("the rebuild over ssh sent %q", res.ContextSent)
		}
	}
}

// BenchmarkSyncOverSSH: a one-file sync (guard and agent) into a container
// of an Engine reached over ssh, beside the same on the local socket.
func BenchmarkSyncOverSSH(b *testing.B) {
	requireEngine(b)
	remote := sshEngine(b)
	ctx := context.Background()
	id := runBusybox(b)
	dir := b.TempDir()
	measure := func(e *engine.Engine, ledger *model.Ledger) time.Duration {
		var lat []time.Duration
		for i := 0; i < b.N; i++ {
			writeFile(b, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
			start := time.Now()
			if _, err := e.Sync(ctx, id, dir, []watcher.SyncItem{item("train.py", watcher.Changed)}, ledger); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		return median(lat)
	}
	local := measure(testEngine, model.NewLedger())
	over := measure(remote, model.NewLedger())
	b.ReportMetric(float64(local.Microseconds())/1000, "local-ms")
	b.ReportMetric(float64(over.Microseconds())/1000, "ssh-ms")
}

// sshEngine connects to the local Engine through a real sshd, as to a
// remote GPU machine.
func sshEngine(b testing.TB) *engine.Engine {
	b.Helper()
	return engineOver(b, testssh.Start(b))
}

// engineOver connects through ssh as DOCKER_HOST=ssh://user@127.0.0.1:port,
// with the test's ssh first on PATH.
func engineOver(b testing.TB, ssh *testssh.Server) *engine.Engine {
	b.Helper()
	ssh.UseAsDockerHost(b)
	e, err := engine.Connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// BenchmarkSaveToReadableOverSSH is BenchmarkSaveToReadable with the
// session's Engine over ssh (Jupyter through exec, as tfdev up does for a
// remote Engine).
func BenchmarkSaveToReadableOverSSH(b *testing.B) {
	requireEngine(b)
	saveToReadable(b, sshEngine(b))
}

// BenchmarkBurst1000OverSSH is BenchmarkBurst1000 over ssh.
func BenchmarkBurst1000OverSSH(b *testing.B) {
	requireEngine(b)
	burst1000(b, sshEngine(b))
}

// BenchmarkFrontDoorExecOverSSH: the notebook page and a kernel round
// trip through the door, whose relay is an exec over ssh, beside the
// published port.
func BenchmarkFrontDoorExecOverSSH(b *testing.B) {
	requireEngine(b)
	remote := sshEngine(b)
	benchDoor(b, "ssh-exec", func(d *frontdoor.FrontDoor, c *model.Container) error {
		return d.SwitchVia(c.Base(), func(ctx context.Context) (net.Conn, error) { return remote.DialJupyter(ctx, c.ID, model.JupyterPort) })
	})
}
