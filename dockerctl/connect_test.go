package dockerctl

import (
	"context"
	"errors"
	"net"
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
