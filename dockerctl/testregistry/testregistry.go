// Package testregistry runs a real container registry for tests (the CNCF
// distribution registry from Debian's docker-registry package) on a free
// loopback port, with its own storage and config, and optionally htpasswd
// auth. The Engine treats 127.0.0.0/8 as an insecure registry by default,
// so it pushes and pulls over plain HTTP.
package testregistry

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/testproc"
	"golang.org/x/crypto/bcrypt"
)

// Registry is a running registry.
type Registry struct {
	Addr     string // 127.0.0.1:PORT
	User     string // with auth: the user and password it accepts
	Password string
}

// Options change the registry.
type Options struct {
	Auth bool // htpasswd auth with one user
}

// Start runs a registry for the test; it fails the test when there is none
// and TFDEV_REQUIRE_ENGINE=1, else skips it.
func Start(t testing.TB, o Options) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			t.Fatalf("no docker-registry (Debian's docker-registry package; make test installs it): %v", err)
		}
		t.Skip("no docker-registry")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Registry{Addr: ln.Addr().String()}
	ln.Close()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), r.Addr)
	if o.Auth {
		r.User, r.Password = "tfdev", "s3cret-"+filepath.Base(dir)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.DefaultCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.User+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: tfdev-test\n    path: %s\n", htpasswd)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	testproc.StartListening(t, "the registry", cmd, "listening on")
	return r
}

// Ref is the registry's name for repo:tag.
func (r *Registry) Ref(repoTag string) string { return r.Addr + "/" + repoTag }
