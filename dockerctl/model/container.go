package model

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Labels tfdev puts on its containers, so that it finds its own and never
// touches anyone else's.
const (
	LabelProject = "dev.tfdev.project"      // hash of the project's absolute path
	LabelPath    = "dev.tfdev.path"         // the project's absolute path
	LabelVia     = "dev.tfdev.jupyter-via"  // "exec": tfdev reaches Jupyter through the Engine's exec
	LabelCDI     = "dev.tfdev.cdi-devices"  // the CDI devices asked for (Podman): no inspect shows them
	LabelPort    = "dev.tfdev.jupyter-port" // the container port Jupyter serves, when not JupyterPort
)

// JupyterPort is the port Jupyter listens on inside the container.
const JupyterPort = 8888

// ProjectID is the short hash of a project directory's absolute path.
func ProjectID(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:])[:12]
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// ContainerName is tfdev-<folder>-<short hash>.
func ContainerName(dir string) string {
	base := strings.Trim(nameUnsafe.ReplaceAllString(strings.ToLower(filepath.Base(dir)), "-"), "-.")
	if base == "" {
		base = "project"
	}
	return "tfdev-" + base + "-" + ProjectID(dir)[:8]
}

// NewToken is a random 128-bit Jupyter token, hex-encoded.
func NewToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// RunOptions say how to run the project's container.
type RunOptions struct {
	Dir      string // the project directory (labels, name)
	Image    string
	HostIP   string // default 127.0.0.1
	HostPort int    // requested host port; taken when free, else a free one. 0: any free port
	Token    string // "" makes one
	GPUs     string // auto, all, none, or IDs; see GPURequest
	GPU      GPUSupport
	Env      []string
	Name     string // default ContainerName(Dir)
	// ViaExec: tfdev reaches Jupyter through the Engine's exec
	// (--jupyter-via exec); its port is then published only with Publish,
	// on the Engine's host (--publish with a remote Engine).
	ViaExec bool
	Publish bool
	// Run is what the project's compose file or devcontainer.json says
	// about running it; the zero value is the image's own.
	Run RunSettings
}

// Container is a running (or created) tfdev container.
type Container struct {
	ID        string
	Name      string
	Image     string // image ID
	HostIP    string
	HostPort  int
	Token     string
	GPU       bool
	Workdir   string // the container's working directory
	ServedDir string // the folder its Jupyter serves, once known
	Started   time.Time
	Running   bool // as last inspected
	// Unpublished: tfdev reaches Jupyter through the Engine's exec, and Base
	// is its address in the container. Its port may still be published on
	// the Engine's host (HostIP, HostPort) for others.
	Unpublished bool
	// Port is the container port Jupyter serves (0: JupyterPort).
	Port int
}

// jupyterPort is the container port its Jupyter serves.
func (c *Container) JupyterPort() int {
	if c.Port > 0 {
		return c.Port
	}
	return JupyterPort
}

// Base is the container's Jupyter address, "http://127.0.0.1:PORT": on the
// Engine's host, or, when unpublished, on the container's own loopback
// (reached through exec: jupyterClient).
func (c *Container) Base() string {
	if c.Unpublished {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(c.JupyterPort()))
	}
	return "http://" + net.JoinHostPort(DialHost(c.HostIP), strconv.Itoa(c.HostPort))
}

// URL is where the container's Jupyter answers directly.
func (c *Container) URL() string {
	host := c.HostIP
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s/?token=%s", net.JoinHostPort(host, strconv.Itoa(c.HostPort)), c.Token)
}

// ErrNotRunning is a container that stopped.
var ErrNotRunning = errors.New("the container is not running")

func DialHost(h string) string {
	if h == "" || h == "0.0.0.0" {
		return "127.0.0.1"
	}
	return h
}
