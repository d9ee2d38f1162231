package progress

import (
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The BuildKit trace arrives as aux messages with id "moby.buildkit.trace":
// a JSON string holding a protobuf moby.buildkit.v1.StatusResponse. Only a
// few fields are needed, so they are read with protowire rather than the
// generated types (which would pull grpc into the binary):
//
//	StatusResponse { repeated Vertex vertexes = 1; repeated VertexStatus statuses = 2;
//	                 repeated VertexLog logs = 3; }
//	Vertex { string digest = 1; repeated string inputs = 2; string name = 3;
//	         bool cached = 4; Timestamp started = 5; Timestamp completed = 6;
//	         string error = 7; }
//	VertexStatus { string ID = 1; string vertex = 2; string name = 3; int64 current = 4;
//	               int64 total = 5; Timestamp timestamp = 6; Timestamp started = 7;
//	               Timestamp completed = 8; }
//	VertexLog { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }

// traceVertex is one vertex update; absent fields are zero.
type Vertex struct {
	Digest    string
	Name      string
	Cached    bool
	Started   time.Time
	Completed time.Time
	Error     string
}

type Log struct {
	Vertex string
	Msg    []byte
}

// traceProgress is a VertexStatus: the progress of one part of a vertex,
// such as a layer of a base image being downloaded.
type VertexStatus struct {
	ID, Vertex, Name string
	Current, Total   int64
	Started          time.Time
	Completed        time.Time
}

type Status struct {
	Vertexes []Vertex
	Statuses []VertexStatus
	Logs     []Log
}

// decodeTrace decodes the aux payload of a moby.buildkit.trace message.
func Decode(aux json.RawMessage) (Status, error) {
	var raw []byte
	if err := json.Unmarshal(aux, &raw); err != nil {
		return Status{}, fmt.Errorf("buildkit trace: %w", err)
	}
	var st Status
	err := eachField(raw, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			vx, err := decodeVertex(v)
			if err != nil {
				return err
			}
			st.Vertexes = append(st.Vertexes, vx)
		case num == 2 && typ == protowire.BytesType:
			p, err := decodeProgress(v)
			if err != nil {
				return err
			}
			st.Statuses = append(st.Statuses, p)
		case num == 3 && typ == protowire.BytesType:
			l, err := decodeLog(v)
			if err != nil {
				return err
			}
			st.Logs = append(st.Logs, l)
		}
		return nil
	})
	return st, err
}

func decodeVertex(b []byte) (Vertex, error) {
	var vx Vertex
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			vx.Digest = string(v)
		case num == 3 && typ == protowire.BytesType:
			vx.Name = string(v)
		case num == 4 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			vx.Cached = n != 0
		case num == 5 && typ == protowire.BytesType:
			vx.Started, err = decodeTimestamp(v)
		case num == 6 && typ == protowire.BytesType:
			vx.Completed, err = decodeTimestamp(v)
		case num == 7 && typ == protowire.BytesType:
			vx.Error = string(v)
		}
		return err
	})
	return vx, err
}

func decodeProgress(b []byte) (VertexStatus, error) {
	var p VertexStatus
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			p.ID = string(v)
		case num == 2 && typ == protowire.BytesType:
			p.Vertex = string(v)
		case num == 3 && typ == protowire.BytesType:
			p.Name = string(v)
		case num == 4 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			p.Current = int64(n)
		case num == 5 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			p.Total = int64(n)
		case num == 7 && typ == protowire.BytesType:
			p.Started, err = decodeTimestamp(v)
		case num == 8 && typ == protowire.BytesType:
			p.Completed, err = decodeTimestamp(v)
		}
		return err
	})
	return p, err
}

func decodeLog(b []byte) (Log, error) {
	var l Log
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			l.Vertex = string(v)
		case num == 4 && typ == protowire.BytesType:
			l.Msg = append([]byte(nil), v...)
		}
		return nil
	})
	return l, err
}

func decodeTimestamp(b []byte) (time.Time, error) {
	var sec, nsec int64
	err := eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.VarintType {
			return nil
		}
		n, _ := protowire.ConsumeVarint(v)
		switch num {
		case 1:
			sec = int64(n)
		case 2:
			nsec = int64(int32(n))
		}
		return nil
	})
	if sec == 0 && nsec == 0 {
		return time.Time{}, err
	}
	return time.Unix(sec, nsec), err
}

// eachField calls fn for every field of a protobuf message. For varints, v
// holds the varint's bytes; for length-delimited fields, the payload.
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("buildkit trace: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			payload, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return fmt.Errorf("buildkit trace: %w", protowire.ParseError(m))
			}
			v, n = payload, m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("buildkit trace: %w", protowire.ParseError(n))
			}
			v = b[:n]
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
