package engine

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/client"
)

// dockerContext is the Engine endpoint a docker CLI context names.
type dockerContext struct {
	Name          string
	Host          string
	SkipTLSVerify bool
	TLS           *tls.Config // nil: no client certificates stored
}

// dockerConfigDir is the docker CLI's folder: $DOCKER_CONFIG, else
// ~/.docker ("" when there is no home).
func dockerConfigDir() string {
	if dir := os.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker")
}

// currentContext resolves the docker CLI's current context as the CLI does:
// DOCKER_HOST wins (nil is returned), then DOCKER_CONTEXT, then
// currentContext in $DOCKER_CONFIG/config.json; "default" (nil) means the
// environment's defaults.
func currentContext() (*dockerContext, error) {
	if os.Getenv("DOCKER_HOST") != "" {
		return nil, nil
	}
	dir := dockerConfigDir()
	if dir == "" {
		return nil, nil
	}
	name := os.Getenv("DOCKER_CONTEXT")
	if name == "" {
		var cfg struct{ CurrentContext string }
		if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
			if err := json.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("reading %s: %w (the docker CLI cannot read it either; fix or remove it)", filepath.Join(dir, "config.json"), err)
			}
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	b, err := os.ReadFile(filepath.Join(dir, "contexts", "meta", id, "meta.json"))
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w (list them with docker context ls, or unset DOCKER_CONTEXT)", name, err)
	}
	var meta struct {
		Endpoints map[string]struct {
			Host          string
			SkipTLSVerify bool
		}
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	}
	ep, ok := meta.Endpoints["docker"]
	if !ok || ep.Host == "" {
		return nil, fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	c := &dockerContext{Name: name, Host: ep.Host, SkipTLSVerify: ep.SkipTLSVerify}
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	if cfg, err := contextTLS(tlsDir, ep.SkipTLSVerify); err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	} else if cfg != nil {
		c.TLS = cfg
	}
	return c, nil
}

// contextTLS reads a context's ca.pem, cert.pem and key.pem, when present.
func contextTLS(dir string, skipVerify bool) (*tls.Config, error) {
	read := func(n string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, n)) }
	ca, errCA := read("ca.pem")
	cert, errCert := read("cert.pem")
	key, errKey := read("key.pem")
	if errors.Is(errCA, os.ErrNotExist) && errors.Is(errCert, os.ErrNotExist) {
		if skipVerify {
			return &tls.Config{InsecureSkipVerify: true}, nil
		}
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: skipVerify, MinVersion: tls.VersionTLS12}
	if errCA == nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("ca.pem holds no certificate")
		}
		cfg.RootCAs = pool
	}
	if errCert == nil && errKey == nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// contextOpts turns a context into client options (after FromEnv).
func (c *dockerContext) opts() []client.Opt {
	if c == nil {
		return nil
	}
	if strings.HasPrefix(c.Host, "ssh://") {
		return nil // Connect dials it through ssh
	}
	opts := []client.Opt{client.WithHost(c.Host)}
	if c.TLS != nil {
		// A transport of its own each time the option is applied: Ping's
		// client must not share the session's pooled connections.
		fresh := func(cli *client.Client) error { return client.WithHTTPClient(tlsHTTPClient(c.TLS))(cli) }
		opts = append(opts, fresh, client.WithScheme("https"))
	}
	return opts
}

func tlsHTTPClient(cfg *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
}
