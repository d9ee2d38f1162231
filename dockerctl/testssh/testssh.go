// Package testssh runs a real sshd for tests, standing for a remote GPU
// machine: tfdev's ssh engines are tested against it, with an ssh client
// configured by the test (the user's ~/.ssh is not touched).
package testssh

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/testproc"
)

// Server is a running sshd on a loopback port, and the ssh to reach it.
type Server struct {
	Port int
	User string // the user to log in as: the test's own
	Bin  string // a folder with an ssh that uses the test's config and key: put it first on PATH
	// WrongKeyBin holds an ssh that offers a key the server does not
	// accept.
	WrongKeyBin string
}

// Options change the server.
type Options struct {
	// NoDocker gives its sessions a PATH with no docker on it, as a
	// machine without Docker installed.
	NoDocker bool
}

// Host is the DOCKER_HOST of the Engine behind the server.
func (s *Server) Host() string { return fmt.Sprintf("ssh://%s@127.0.0.1:%d", s.User, s.Port) }

// PathEnv is PATH with the test's ssh first.
func (s *Server) PathEnv() string { return s.Bin + ":" + os.Getenv("PATH") }

// Start runs sshd for the test; it fails the test when there is none and
// TFDEV_REQUIRE_ENGINE=1, else skips it.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("sshd")
	if err != nil {
		bin = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			t.Fatalf("no sshd (openssh-server; make test installs it): %v", err)
		}
		t.Skip("no sshd (openssh-server)")
	}
	dir := t.TempDir()
	keys(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Port: ln.Addr().(*net.TCPAddr).Port, Bin: filepath.Join(dir, "bin"), WrongKeyBin: filepath.Join(dir, "bin-wrongkey")}
	ln.Close()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s.User = u.Username
	config := fmt.Sprintf(
		"Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\nUsePAM no\n",
		s.Port, filepath.Join(dir, "host"), filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "sshd.pid"))
	if o.NoDocker {
		config += "SetEnv PATH=/nonexistent\n"
	}
	write(t, filepath.Join(dir, "sshd_config"), config, 0o600)
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // its privilege separation folder
		t.Logf("/run/sshd: %v", err)
	}
	cmd := exec.Command(bin, "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	testproc.StartListening(t, "sshd", cmd, "Server listening on")
	s.client(t, dir)
	return s
}

// client writes an ssh that uses the test's key and trusts the test's
// host, in s.Bin.
func (s *Server) client(t testing.TB, dir string) {
	t.Helper()
	ssh, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("no ssh client: %v", err)
	}
	for bin, key := range map[string]string{s.Bin: "client", s.WrongKeyBin: "other"} {
		cfg := filepath.Join(dir, key+".ssh_config")
		write(t, cfg, fmt.Sprintf(
			"Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n", filepath.Join(dir, key)), 0o600)
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(bin, "ssh"), "#!/bin/sh\nexec "+ssh+" -F "+cfg+" \"$@\"\n", 0o755)
	}
}

// keys makes the host's key, the client's, which the server accepts, and
// another that it does not.
func keys(t testing.TB, dir string) {
	t.Helper()
	for _, k := range []string{"host", "client", "other"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "client.pub"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "authorized_keys"), string(pub), 0o600)
}

func write(t testing.TB, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// UseAsDockerHost points the test's DOCKER_HOST at this server, with its
// ssh first on PATH and no docker context, as a user of a remote GPU
// machine would: the next engine.Connect goes through ssh.
func (s *Server) UseAsDockerHost(t testing.TB) {
	t.Setenv("PATH", s.PathEnv())
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", s.Host())
}
