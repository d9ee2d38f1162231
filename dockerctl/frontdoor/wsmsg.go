package frontdoor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// The two WebSocket protocols Jupyter servers speak for a kernel's
// channels. The legacy one (no subprotocol; Notebook 6, and jupyter_server
// when the page asks for none): a message is a JSON text frame with its
// channel inside, or, with binary buffers, a binary frame of big-endian
// uint32 offsets, the JSON, then the buffers. v1 (jupyter_server 2,
// JupyterLab 4, Notebook 7): a binary frame of a little-endian uint64
// count, that many offsets, then the channel and the header, parent
// header, metadata, content and buffers, each its own part.

// protoV1 is the v1 subprotocol's name.
const protoV1 = "v1.kernel.websocket.jupyter.org"

// kmsg is one kernel message as the door needs it: its channel and
// parts, and what it answers.
type kmsg struct {
	Channel  string
	Header   json.RawMessage
	Parent   json.RawMessage
	Metadata json.RawMessage
	Content  json.RawMessage
	Buffers  [][]byte

	ID, Type, ParentID, Session string

	// The frame it came in, passed on as it is to a side of the same
	// protocol.
	proto   string
	rawType websocket.MessageType
	raw     []byte
}

type header struct {
	MsgID   string `json:"msg_id"`
	MsgType string `json:"msg_type"`
	Session string `json:"session"`
}

func (m *kmsg) parse() {
	var h, p header
	json.Unmarshal(m.Header, &h)
	json.Unmarshal(m.Parent, &p)
	m.ID, m.Type, m.Session, m.ParentID = h.MsgID, h.MsgType, h.Session, p.MsgID
}

// legacyJSON is a legacy message's JSON part.
type legacyJSON struct {
	Header   json.RawMessage `json:"header"`
	Parent   json.RawMessage `json:"parent_header"`
	Metadata json.RawMessage `json:"metadata"`
	Content  json.RawMessage `json:"content"`
	Channel  string          `json:"channel"`
	MsgID    string          `json:"msg_id,omitempty"` // what jupyter_client adds beside the header
	MsgType  string          `json:"msg_type,omitempty"`
}

// decodeMsg reads a frame of protocol proto.
func decodeMsg(proto string, typ websocket.MessageType, b []byte) (*kmsg, error) {
	m := &kmsg{proto: proto, rawType: typ, raw: b}
	if proto == protoV1 {
		parts, err := splitOffsets(b, 8, true)
		if err != nil {
			return nil, err
		}
		if len(parts) < 5 {
			return nil, fmt.Errorf("a v1 message of %d parts", len(parts))
		}
		m.Channel = string(parts[0])
		m.Header, m.Parent, m.Metadata, m.Content = parts[1], parts[2], parts[3], parts[4]
		m.Buffers = parts[5:]
		m.parse()
		return m, nil
	}
	js := b
	if typ == websocket.MessageBinary {
		parts, err := splitOffsets(b, 4, false)
		if err != nil || len(parts) == 0 {
			return nil, errors.Join(errors.New("a binary message the door cannot read"), err)
		}
		js, m.Buffers = parts[0], parts[1:]
	}
	var l legacyJSON
	if err := json.Unmarshal(js, &l); err != nil {
		return nil, err
	}
	m.Channel, m.Header, m.Parent, m.Metadata, m.Content = l.Channel, l.Header, l.Parent, l.Metadata, l.Content
	m.parse()
	return m, nil
}

// splitOffsets splits a frame by its table of offsets: width 8 (v1:
// little-endian, the count, then count offsets, each part running to the
// next offset) or 4 (legacy: big-endian, the count of parts, their
// starts, the last part running to the end).
func splitOffsets(b []byte, width int, v1 bool) ([][]byte, error) {
	if len(b) < width {
		return nil, errors.New("a frame shorter than its count")
	}
	read := func(i int) uint64 {
		if v1 {
			return binary.LittleEndian.Uint64(b[i*width:])
		}
		return uint64(binary.BigEndian.Uint32(b[i*width:]))
	}
	n := read(0)
	if n == 0 || n > uint64(len(b)/width) {
		return nil, fmt.Errorf("a frame that says it has %d offsets", n)
	}
	offs := make([]uint64, n)
	for i := range offs {
		offs[i] = read(i + 1)
	}
	if !v1 {
		offs = append(offs, uint64(len(b)))
	}
	var parts [][]byte
	for i := 0; i+1 < len(offs); i++ {
		if offs[i] > offs[i+1] || offs[i+1] > uint64(len(b)) {
			return nil, errors.New("offsets out of the frame")
		}
		parts = append(parts, b[offs[i]:offs[i+1]])
	}
	return parts, nil
}

func orEmpty(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("{}")
	}
	return r
}

// encodeMsg writes m as a frame of protocol proto: the frame it came in
// when that was of proto.
func encodeMsg(proto string, m *kmsg) (websocket.MessageType, []byte) {
	if m.raw != nil && m.proto == proto {
		return m.rawType, m.raw
	}
	if proto == protoV1 {
		parts := append([][]byte{[]byte(m.Channel), orEmpty(m.Header), orEmpty(m.Parent), orEmpty(m.Metadata), orEmpty(m.Content)}, m.Buffers...)
		n := len(parts) + 1
		out := binary.LittleEndian.AppendUint64(nil, uint64(n))
		off := uint64(8 * (n + 1))
		out = binary.LittleEndian.AppendUint64(out, off)
		for _, p := range parts {
			off += uint64(len(p))
			out = binary.LittleEndian.AppendUint64(out, off)
		}
		for _, p := range parts {
			out = append(out, p...)
		}
		return websocket.MessageBinary, out
	}
	js, _ := json.Marshal(legacyJSON{Header: orEmpty(m.Header), Parent: orEmpty(m.Parent), Metadata: orEmpty(m.Metadata), Content: orEmpty(m.Content), Channel: m.Channel, MsgID: m.ID, MsgType: m.Type})
	if len(m.Buffers) == 0 {
		return websocket.MessageText, js
	}
	parts := append([][]byte{js}, m.Buffers...)
	out := binary.BigEndian.AppendUint32(nil, uint32(len(parts)))
	off := uint32(4 * (len(parts) + 1))
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, off)
		off += uint32(len(p))
	}
	for _, p := range parts {
		out = append(out, p...)
	}
	return websocket.MessageBinary, out
}
