// Package testpodman starts Debian's podman serving the Docker Engine API
// on a socket of the test's own, for tests of tfdev on Podman.
package testpodman

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Need skips the test when podman is not installed, unless
// TFDEV_REQUIRE_PODMAN=1 (make test's Podman lane) says it must run.
func Need(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		if os.Getenv("TFDEV_REQUIRE_PODMAN") == "1" {
			t.Fatalf("podman is not installed (make test installs it): %v", err)
		}
		t.Skip("podman is not installed")
	}
}

// Serve starts `podman system service` on the unix socket sock and stops
// it at the end of the test. The socket is made here and handed to podman
// as systemd's socket activation does, so it takes connections from the
// start: nothing to wait for.
func Serve(t testing.TB, sock string) {
	t.Helper()
	ServeAs(t, sock, nil, nil)
}

// ServeAs is Serve with podman run by the command line prefix as (such as
// setpriv to another user: a rootless service), with env added to its
// environment. The socket is given to that user.
func ServeAs(t testing.TB, sock string, as []string, env []string) {
	t.Helper()
	Need(t)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // podman serves it from now on
	f, err := ul.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	// LISTEN_PID must be podman's own pid: the shell's, which exec keeps.
	args := append(append([]string(nil), as...), "sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec podman system service --time=0`)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = filepath.Dir(sock)   // a folder the user running it can enter (the test's may be closed to them)
	cmd.ExtraFiles = []*os.File{f} // fd 3, as systemd passes it
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CONTAINER_HOST=") && !strings.HasPrefix(kv, "CONTAINER_CONNECTION=") {
			cmd.Env = append(cmd.Env, kv) // any of these, even empty, makes podman a remote client
		}
	}
	cmd.Env = append(cmd.Env, env...)
	log, err := os.Create(filepath.Join(t.TempDir(), "podman-service.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.Remove(sock)
		if t.Failed() {
			b, _ := os.ReadFile(log.Name())
			t.Logf("podman system service:\n%s", b)
		}
	})
}
