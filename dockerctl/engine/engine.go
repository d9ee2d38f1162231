package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// ConnectTimeout bounds how long Connect waits for the Engine to answer.
const ConnectTimeout = 2 * time.Second

// identifyTimeout bounds how long Connect waits for an Engine that answered
// to say which it is.
const identifyTimeout = 10 * time.Second

// Engine is a connection to the Docker Engine with what tfdev learned about
// it once, at connect time.
type Engine struct {
	api        *client.Client
	opts       []client.Opt // how api was made: Ping makes a client of its own with them
	Host       string       // the address used, e.g. unix:///var/run/docker.sock
	APIVersion string       // negotiated
	BuildKit   bool         // the Engine reports BuildKit as its default builder
	OSType     string

	Product        string // "Docker Engine" or "Podman"
	ProductVersion string // the engine's own version (not the API's)
	Rootless       bool   // the engine runs as a user, not as root
	rootKnown      bool   // the engine said whether it runs as root

	uploads atomic.Int64 // tars Sync sent (agent or archive API), for tests and stats

	agentsMu sync.Mutex
	agents   map[string]*agent // container ID -> its sync agent; nil: cannot run one

	scripts scriptPlaces // containers whose scripts are in ScriptDir

	sums sumCache // context files' SHA-256 by path, size and time, across session builds

	users containerUsers // each container's user and home
}

// Connect reaches the Engine named by DOCKER_HOST, or else by the docker
// CLI's current context (DOCKER_CONTEXT, or currentContext in
// ~/.docker/config.json; unix and tcp with TLS), else the local socket,
// negotiates the API version (DOCKER_API_VERSION pins it) and pings it. An Engine that does not answer within ConnectTimeout is an error that
// says which address was tried and what to check.
func Connect(ctx context.Context) (*Engine, error) {
	dctx, err := currentContext()
	if err != nil {
		return nil, err
	}
	opts := append([]client.Opt{client.FromEnv}, dctx.opts()...)
	host, timeout := os.Getenv("DOCKER_HOST"), ConnectTimeout
	if dctx != nil {
		host = dctx.Host
	}
	named := host != "" // DOCKER_HOST or a context: only that engine
	if !named {
		opts = append(opts, client.WithHost(defaultHost))
	}
	ssh := strings.HasPrefix(host, "ssh://")
	if ssh {
		sopts, err := sshClientOpts(host)
		if err != nil {
			return nil, err
		}
		opts = append([]client.Opt{client.FromEnv}, sopts...)
		timeout += sshConnectTimeout // ssh's own connection first
	}
	cli, err := client.NewClientWithOpts(append(slices.Clone(opts), client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w (check DOCKER_HOST=%q)", err, os.Getenv("DOCKER_HOST"))
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil && !named {
		// No Docker Engine where it usually is: Podman's sockets.
		if pcli, pping := findPodman(ctx, opts); pcli != nil {
			_ = cli.Close()
			cli, ping, err = pcli, pping, nil
			opts = append(opts, client.WithHost(cli.DaemonHost()))
		}
	}
	if err != nil {
		_ = cli.Close() // the ping's error is the one to report
		if ssh {
			return nil, &UnreachableError{Host: host, Hint: sshHint(err), Err: err}
		}
		ue := unreachable(cli.DaemonHost(), err)
		if !named {
			ue.Hint += podmanHint()
		}
		return nil, ue
	}
	cli.NegotiateAPIVersionPing(ping)
	if !ssh {
		host = cli.DaemonHost()
	}
	e := &Engine{
		api:        cli,
		opts:       opts,
		Host:       host,
		APIVersion: cli.ClientVersion(),
		BuildKit:   ping.BuilderVersion == build.BuilderBuildKit,
		OSType:     ping.OSType,
	}
	// A bound of its own: Podman's version call runs its runtime and
	// conmon to ask theirs, slow on a busy machine or a service just started.
	ictx, icancel := context.WithTimeout(ctx, identifyTimeout)
	defer icancel()
	e.identify(ictx)
	return e, nil
}

// Close releases the connection.
func (e *Engine) Close() error { return e.api.Close() }

func unreachable(host string, err error) *UnreachableError {
	hint := "is the Docker Engine running? (systemctl status docker, or start dockerd)"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		hint = fmt.Sprintf("it did not answer within %v; is the Engine running and DOCKER_HOST right?", ConnectTimeout)
	case strings.Contains(err.Error(), "permission denied"):
		hint = "permission denied: add your user to the docker group, or run as root"
	case strings.HasPrefix(host, "unix://"):
		hint = "no Engine listens on that socket: start it (systemctl start docker) or set DOCKER_HOST"
	}
	return &UnreachableError{Host: host, Hint: hint, Err: err}
}

// UnreachableError is an Engine that did not answer.
type UnreachableError struct {
	Host string
	Hint string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Docker Engine at %s: %s", e.Host, e.Hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// API is the Engine API client itself, for tests and tools that need a
// call tfdev does not wrap.
func (e *Engine) API() *client.Client { return e.api }

// Addr is the Engine's address, e.g. unix:///var/run/docker.sock.
func (e *Engine) Addr() string { return e.Host }

// Version is the negotiated API version.
func (e *Engine) Version() string { return e.APIVersion }
