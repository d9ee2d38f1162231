package engine

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/docker/docker/client"
)

// engineGone reports whether err means the Engine cannot be reached (the
// daemon stopped, the socket or the ssh link dropped), as opposed to the
// Engine answering with an error.
func EngineGone(err error) bool {
	if err == nil {
		return false
	}
	if client.IsErrConnectionFailed(err) {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ENOENT, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"Cannot connect to the Docker daemon", "connection refused", "connection reset", "broken pipe", "use of closed network connection", ": EOF"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
