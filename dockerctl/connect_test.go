package dockerctl

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConnectToAMissingSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "no-docker.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	_, err := Connect(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "start it") {
		t.Errorf("message %q should name the socket and what to do", err)
	}
}

// An Engine address that accepts connections but never answers must not
// hang: Connect gives up after ConnectTimeout and says so.
func TestConnectToASilentEngine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { <-done; c.Close() }() // hold it open, say nothing
		}
	}()
	t.Setenv("DOCKER_HOST", "tcp://"+ln.Addr().String())
	_, err = Connect(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want an UnreachableError from the %v deadline", err, ConnectTimeout)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("message %q", err)
	}
}

func TestConnectNegotiatesTheAPIVersion(t *testing.T) {
	if testEngine.APIVersion == "" || testEngine.Host == "" {
		t.Fatalf("engine %+v", testEngine)
	}
	// DOCKER_API_VERSION pins the version, as with the docker CLI.
	t.Setenv("DOCKER_API_VERSION", "1.41")
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.APIVersion != "1.41" {
		t.Errorf("pinned version: %s", e.APIVersion)
	}
}

// writeContext stores a docker CLI context as `docker context create` does.
func writeContext(t *testing.T, cfgDir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	dir := filepath.Join(cfgDir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := fmt.Sprintf(`{"Name":%q,"Metadata":{},"Endpoints":{"docker":{"Host":%q,"SkipTLSVerify":false}}}`, name, host)
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConnectThroughADockerContext(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	writeContext(t, cfg, "here", testEngine.Host)
	gone := filepath.Join(t.TempDir(), "gone.sock")
	writeContext(t, cfg, "gone", "unix://"+gone)
	writeContext(t, cfg, "remote", "ssh://me@gpu-box")
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"gone"}`), 0o644)

	// currentContext from config.json.
	_, err := Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), gone) {
		t.Errorf("current context gone: %v", err)
	}
	// DOCKER_CONTEXT wins over config.json.
	t.Setenv("DOCKER_CONTEXT", "here")
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatalf("context here: %v", err)
	}
	e.Close()
	t.Setenv("DOCKER_CONTEXT", "remote")
	if _, err := Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "ssh") || !strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("ssh context: %v", err)
	}
	t.Setenv("DOCKER_CONTEXT", "nope")
	if _, err := Connect(context.Background()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	// DOCKER_HOST wins over any context.
	t.Setenv("DOCKER_HOST", testEngine.Host)
	e, err = Connect(context.Background())
	if err != nil {
		t.Fatalf("DOCKER_HOST over a bad context: %v", err)
	}
	e.Close()
}
