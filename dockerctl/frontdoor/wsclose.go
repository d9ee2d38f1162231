package frontdoor

import (
	"encoding/binary"
	"io"
)

// A kernel's WebSocket that goes through the front door ends with the
// container it reached: when that container stops (a replacement, a
// stop), its side of the connection closes. Passed on as it is, the
// browser would see the TCP connection drop (code 1006, "abnormal"). The
// door follows the frames the server sends, and when the server's side
// ends between two frames without a close frame of its own, it ends the
// browser's side with one: 1012, "service restart", and the reason. The
// notebook page then reconnects, to the new container's kernel.

// wsRestartCode is RFC 6455's 1012: the service is restarting.
const wsRestartCode = 1012

const wsRestartReason = "tfdev: the container was replaced; reconnect to find the kernel in the new one"

// wsServerSide wraps the server's side of an upgraded WebSocket
// connection: reads pass through, frame boundaries are followed.
type wsServerSide struct {
	io.ReadWriteCloser
	hdr     []byte // the header of the frame under way, while incomplete
	left    uint64 // payload bytes of the current frame still to come
	closed  bool   // the server sent a close frame
	pending []byte // the close frame tfdev sends in the server's place
	ended   bool
}

func (w *wsServerSide) Read(p []byte) (int, error) {
	if w.pending != nil {
		n := copy(p, w.pending)
		w.pending = w.pending[n:]
		if len(w.pending) == 0 {
			w.pending, w.ended = nil, true
		}
		return n, nil
	}
	if w.ended {
		return 0, io.EOF
	}
	n, err := w.ReadWriteCloser.Read(p)
	w.follow(p[:n])
	if err != nil && !w.closed && w.left == 0 && len(w.hdr) == 0 {
		w.pending = closeFrame(wsRestartCode, wsRestartReason)
		if n > 0 {
			return n, nil
		}
		return w.Read(p)
	}
	return n, err
}

// follow walks the bytes the server sent: frame headers, then payloads.
func (w *wsServerSide) follow(b []byte) {
	for len(b) > 0 {
		if w.left > 0 {
			k := min(uint64(len(b)), w.left)
			w.left -= k
			b = b[k:]
			continue
		}
		w.hdr = append(w.hdr, b[0])
		b = b[1:]
		if need, size := frameHeader(w.hdr); need == 0 {
			if w.hdr[0]&0x0f == 0x8 {
				w.closed = true
			}
			w.left, w.hdr = size, w.hdr[:0]
		}
	}
}

// frameHeader returns how many more header bytes h needs (0: complete),
// and, once complete, the frame's payload length.
func frameHeader(h []byte) (need int, size uint64) {
	if len(h) < 2 {
		return 2 - len(h), 0
	}
	full := 2
	switch h[1] & 0x7f {
	case 126:
		full += 2
	case 127:
		full += 8
	}
	if h[1]&0x80 != 0 {
		full += 4 // a masking key (a client's frame)
	}
	if len(h) < full {
		return full - len(h), 0
	}
	switch n := h[1] & 0x7f; n {
	case 126:
		return 0, uint64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return 0, binary.BigEndian.Uint64(h[2:10])
	default:
		return 0, uint64(n)
	}
}

// closeFrame is a server's close frame (unmasked) with a code and reason.
func closeFrame(code uint16, reason string) []byte {
	payload := binary.BigEndian.AppendUint16(nil, code)
	payload = append(payload, reason...)
	return append([]byte{0x88, byte(len(payload))}, payload...) // FIN, close; a reason under 124 bytes
}
