package engine

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

//go:embed scripts/relay.py
var relayPy string

// DialJupyter opens a connection to the container's Jupyter through an
// exec.
func (e *Engine) DialJupyter(ctx context.Context, id string, port int) (net.Conn, error) {
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:         e.relayCommand(ctx, id, strconv.Itoa(port)),
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

func (c *execConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *execConn) Write(p []byte) (int, error) { return c.att.Conn.Write(p) }

func (c *execConn) Close() error {
	c.once.Do(func() {
		_ = c.att.CloseWrite() // the relay sees its stdin end and closes its socket
		c.att.Close()
		c.r.Close()
	})
	return nil
}

func (c *execConn) LocalAddr() net.Addr { return c.att.Conn.LocalAddr() }

func (c *execConn) RemoteAddr() net.Addr { return c.att.Conn.RemoteAddr() }

func (c *execConn) SetDeadline(t time.Time) error { return c.att.Conn.SetDeadline(t) }

func (c *execConn) SetReadDeadline(t time.Time) error { return c.att.Conn.SetReadDeadline(t) }

func (c *execConn) SetWriteDeadline(t time.Time) error { return c.att.Conn.SetWriteDeadline(t) }
