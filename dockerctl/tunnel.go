package dockerctl

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Jupyter through the Engine's own connection: each connection the front
// door makes to the container's Jupyter is an exec of a small relay
// (scripts/relay.py, the image's python3) that connects to Jupyter on the
// container's loopback. Nothing needs to be published, so it works where
// the Engine is remote; with a local Engine it is selectable
// (--jupyter-via exec) and tested on every run. The door's transport keeps
// connections alive, so an exec is paid per connection, not per request.

// How the front door reaches the container's Jupyter (--jupyter-via).
const (
	JupyterViaPublish = "publish" // the port published on the Engine's host loopback
	JupyterViaExec    = "exec"    // a relay through the Engine's exec
)

// switchDoor sends the front door's new requests to c's Jupyter, the way
// the session reaches it.
func (x *executor) switchDoor(c *Container) error {
	if x.o.JupyterVia == JupyterViaExec {
		id, port := c.ID, c.jupyterPort()
		return x.door.SwitchVia(c.Base(), func(ctx context.Context) (net.Conn, error) { return x.eng.DialJupyter(ctx, id, port) })
	}
	return x.door.Switch(c.Base())
}

// runOptions says how to run a container of image.
func (x *executor) runOptions(dir, image string) RunOptions {
	// Published on a free loopback port of its own: users come in through
	// the front door, so a replacement can start beside the container that
	// serves.
	port := x.o.Port
	if x.door != nil {
		port = 0
	}
	o := RunOptions{Dir: dir, Image: image, HostIP: "127.0.0.1", HostPort: port, Token: x.o.Token, GPUs: x.o.GPUs, GPU: x.gpu, Env: x.o.Env, Run: x.o.Run,
		ViaExec: x.door != nil && x.o.JupyterVia == JupyterViaExec} // the door goes through exec: nothing to publish
	if o.ViaExec && x.o.Publish {
		// --publish: on the Engine's host too, for whoever is there.
		o.Publish, o.HostIP, o.HostPort = true, x.o.HostIP, x.o.Port
	}
	return o
}

//go:embed scripts/relay.py
var relayPy string

// DialJupyter opens a connection to the container's Jupyter through an
// exec.
func (e *Engine) DialJupyter(ctx context.Context, id string, port int) (net.Conn, error) {
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:         []string{"python3", "-u", "-c", relayPy, strconv.Itoa(port)},
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("reaching Jupyter through the Engine: %w", err)
	}
	att, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("reaching Jupyter through the Engine: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		// The exec's output comes framed (stdout, stderr); stdout is the
		// connection's, stderr (a relay that could not connect) ends it.
		_, err := stdcopy.StdCopy(pw, io.Discard, att.Reader)
		pw.CloseWithError(err)
	}()
	return &execConn{att: att, r: pr}, nil
}

// execConn is a net.Conn over an exec's stdin and demultiplexed stdout.
type execConn struct {
	att  types.HijackedResponse
	r    *io.PipeReader
	once sync.Once
}

func (c *execConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *execConn) Write(p []byte) (int, error) { return c.att.Conn.Write(p) }
func (c *execConn) Close() error {
	c.once.Do(func() {
		_ = c.att.CloseWrite() // the relay sees its stdin end and closes its socket
		c.att.Close()
		c.r.Close()
	})
	return nil
}
func (c *execConn) LocalAddr() net.Addr                { return c.att.Conn.LocalAddr() }
func (c *execConn) RemoteAddr() net.Addr               { return c.att.Conn.RemoteAddr() }
func (c *execConn) SetDeadline(t time.Time) error      { return c.att.Conn.SetDeadline(t) }
func (c *execConn) SetReadDeadline(t time.Time) error  { return c.att.Conn.SetReadDeadline(t) }
func (c *execConn) SetWriteDeadline(t time.Time) error { return c.att.Conn.SetWriteDeadline(t) }
