package dockerctl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
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
	t.Setenv("PATH", ssh.PathEnv())
	port, login := ssh.Port, ssh.User
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", fmt.Sprintf("ssh://%s@127.0.0.1:%d", login, port))
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatalf("over ssh: %v", err)
	}
	defer e.Close()
	if !strings.HasPrefix(e.Host, "ssh://") {
		t.Errorf("the Engine's address %q", e.Host)
	}
	ctx := context.Background()
	c, err := e.api.ContainerCreate(ctx, &container.Config{Image: testimage.Busybox, Cmd: []string{"sleep", "3600"}}, &container.HostConfig{Init: boolPtr(true)}, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(context.Background(), c.ID)
	if err := e.api.ContainerStart(ctx, c.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "train.py", "print('over ssh')\n")
	if _, err := e.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("train.py", watcher.Changed)}, NewLedger()); err != nil {
		t.Fatal(err)
	}
	if a := e.agentFor(ctx, c.ID); a == nil {
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
		_, err := Connect(context.Background())
		if err == nil || !strings.Contains(err.Error(), bad.host) || !strings.Contains(err.Error(), "ssh says") || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%s: %v", bad.host, err)
		}
	}
}

// BenchmarkSyncOverSSH: a one-file sync (guard and agent) into a container
// of an Engine reached over ssh, beside the same on the local socket.
func BenchmarkSyncOverSSH(b *testing.B) {
	requireEngine(b)
	ssh := testssh.Start(b)
	b.Setenv("PATH", ssh.PathEnv())
	b.Setenv("DOCKER_CONTEXT", "")
	b.Setenv("DOCKER_HOST", ssh.Host())
	remote, err := Connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer remote.Close()
	ctx := context.Background()
	id := runBusybox(b)
	dir := b.TempDir()
	measure := func(e *Engine, ledger *Ledger) time.Duration {
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
	local := measure(testEngine, NewLedger())
	over := measure(remote, NewLedger())
	b.ReportMetric(float64(local.Microseconds())/1000, "local-ms")
	b.ReportMetric(float64(over.Microseconds())/1000, "ssh-ms")
}
