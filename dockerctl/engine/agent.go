package engine

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
)

// An agent is one long-lived exec in the container, a shell loop that
// unpacks framed tars from its stdin. A sync through it costs a write and a
// read on an open connection plus `head` and `tar` in the container, where
// CopyToContainer costs the Engine a new request, a mount and an untar
// process each time (40-70 ms on Engine 20.10 with fuse-overlayfs).
//
// Frames: "x <n>\n" then n bytes of tar, extracted at / (with GNU tar's
// --overwrite where the image has GNU tar: an existing file is truncated
// and written in place, not unlinked and made again, which halves the cost
// of a branch switch on fuse-overlayfs; it never follows a link);
// "v 0\n" prints "tar gnu" or "tar plain"; "r <n>\n" then n
// bytes of NUL-separated paths, removed safely (removeScript); "h <n>\n"
// then NUL-separated paths, whose state is printed (stateScript). Each is
// answered by its output lines, then "ok <status>\n". It needs sh, head,
// tar, xargs, rm, rmdir and sha256sum in the image (busybox or coreutils);
// without them, or on any error, Sync falls back to one-shot execs and
// CopyToContainer.
const agentScript = `xo= tarkind=plain
tar --version 2>/dev/null | head -n 1 | grep -q GNU && xo=--overwrite tarkind=gnu
while read -r op n; do
  case "$op" in
    x) head -c "$n" | tar -x -p $xo -f - -C / ;;
    v) echo "tar $tarkind" ;;
    r) head -c "$n" | xargs -0 sh -c '` + removeScript + `' sh ;;
    h) head -c "$n" | xargs -0 sh -c '` + stateScript + `' sh ;;
    *) exit 2 ;;
  esac
  echo "ok $?"
done`

// stateScript prints, for each path argument, "<sha256>  <path>" for a
// regular file, "dir  <path>" for a directory and "mode <octal> <path>" for
// its permissions; a missing path prints nothing. Sync compares these with
// the ledger before it writes or removes anything. (No single quotes: it
// is quoted into agentScript.)
const stateScript = `[ $# -gt 0 ] || exit 0
for p; do if [ -d "$p" ] && [ ! -L "$p" ]; then printf "dir  %s\n" "$p"; fi; done
sha256sum -- "$@" 2>/dev/null; stat -c "mode %a %n" -- "$@" 2>/dev/null; exit 0`

// removeScript removes each path argument: a file or link with rm -f, a
// directory only when empty (rmdir), so that what the container made
// inside a folder the host removed stays. Deepest paths come first.
const removeScript = `for p; do if [ -d "$p" ] && [ ! -L "$p" ]; then rmdir -- "$p" 2>/dev/null; else rm -f -- "$p"; fi; done; exit 0`

// agentPy is the agent where the image has python3: the same frames,
// served in one process.
//
//go:embed scripts/agent.py
var agentPy string

type agent struct {
	kind   string // "python", "gnu" (the shell loop with GNU tar) or "plain"
	bulk   bool   // large batches go through it too: GNU tar, or the Python agent
	stream bool   // it takes a tar streamed in chunks (the Python agent): nothing spooled first
	guard  bool   // it checks each file against what may stand there as it writes (the g frame)
	mu     sync.Mutex
	conn   types.HijackedResponse
	out    *bufio.Reader
	lines  FrameLines
	dead   bool
}

// errAgentDown: the agent is gone; use the Engine's archive API instead.
var errAgentDown = errors.New("sync agent not running")

func (e *Engine) startAgent(ctx context.Context, id string) (*agent, error) {
	created, err := e.api.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: e.agentCommand(ctx, id), User: execAsRoot, AttachStdin: true, AttachStdout: true, AttachStderr: false,
	})
	if err != nil {
		return nil, err
	}
	conn, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return nil, err
	}
	a := &agent{conn: conn, out: bufio.NewReader(conn.Reader)}
	// Probe: an empty removal and an empty state query prove sh, head,
	// xargs and the scripts' tools are there.
	for _, op := range []byte{'r', 'h'} {
		if _, err := a.roundTrip(op, nil); err != nil {
			a.close()
			return nil, err
		}
	}
	lines, err := a.roundTrip('v', nil)
	if err != nil {
		a.close()
		return nil, err
	}
	if len(lines) == 1 { // "tar <kind> [stream] [guard]"
		f := strings.Fields(lines[0])
		if len(f) > 1 {
			a.kind = f[1]
		}
		a.stream = slices.Contains(f, "stream")
		a.guard = slices.Contains(f, "guard")
	}
	a.bulk = a.kind == "gnu" || a.kind == "python"
	return a, nil
}

// roundTrip sends one frame and returns the lines printed before its
// answer.
func (a *agent) roundTrip(op byte, payload []byte) ([]string, error) {
	return a.send(op, bytes.NewReader(payload), int64(len(payload)))
}

// send sends one frame of n bytes read from payload, streamed, and returns
// the lines printed before its answer.
func (a *agent) send(op byte, payload io.Reader, n int64) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return nil, errAgentDown
	}
	if _, err := fmt.Fprintf(a.conn.Conn, "%c %d\n", op, n); err != nil {
		a.dead = true
		return nil, err
	}
	if _, err := io.CopyN(a.conn.Conn, payload, n); err != nil {
		a.dead = true
		return nil, err
	}
	return a.answer()
}

// answer reads the lines a frame printed, up to its "ok <status>". Called
// with mu held.
func (a *agent) answer() ([]string, error) {
	var lines []string
	for {
		line, err := a.lines.Next(a.out)
		if err != nil {
			a.dead = true
			return nil, err
		}
		if strings.HasPrefix(line, "ok ") {
			if line != "ok 0" {
				return lines, fmt.Errorf("in the container: %s", line)
			}
			return lines, nil
		}
		lines = append(lines, line)
	}
}

// sendStream sends a frame of op: head, then the bytes write makes as it
// goes, in chunks: the container starts on the first files while tfdev
// still reads the last ones from disk, and nothing is spooled first.
func (a *agent) sendStream(op byte, head []byte, write func(io.Writer) error) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dead {
		return nil, errAgentDown
	}
	if _, err := fmt.Fprintf(a.conn.Conn, "%c %d\n", op, len(head)); err != nil {
		a.dead = true
		return nil, err
	}
	if _, err := a.conn.Conn.Write(head); err != nil {
		a.dead = true
		return nil, err
	}
	cw := &chunkWriter{w: a.conn.Conn}
	bw := bufio.NewWriterSize(cw, 256<<10)
	werr := write(bw)
	if err := bw.Flush(); err != nil {
		a.dead = true
		return nil, err
	}
	if _, err := io.WriteString(a.conn.Conn, "0\n"); err != nil { // the end, even after a failed write: the agent waits for it
		a.dead = true
		return nil, err
	}
	lines, err := a.answer()
	if werr != nil && !a.dead {
		return lines, werr // the agent answered: the tar's own failure says more than its status
	}
	return lines, err
}

// chunkWriter frames what it is given as "<n>\n" and n bytes.
type chunkWriter struct{ w io.Writer }

func (c *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if _, err := fmt.Fprintf(c.w, "%d\n", len(p)); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// frameLines splits the exec's stdout, which the Engine frames with an
// 8-byte header per chunk (no tty), into lines.
type FrameLines struct{ buf []byte }

func (f *FrameLines) Next(r *bufio.Reader) (string, error) {
	for {
		if i := bytes.IndexByte(f.buf, '\n'); i >= 0 {
			line := string(f.buf[:i])
			f.buf = f.buf[i+1:]
			return line, nil
		}
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return "", err
		}
		n := int(hdr[4])<<24 | int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7])
		chunk := make([]byte, n)
		if _, err := io.ReadFull(r, chunk); err != nil {
			return "", err
		}
		if hdr[0] == 1 { // stdout
			f.buf = append(f.buf, chunk...)
		}
	}
}

func (a *agent) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.dead = true
	a.conn.Close()
}

// agentFor returns the container's agent, starting one on first use. A
// container whose image cannot run one is remembered, and not asked again.
func (e *Engine) AgentFor(ctx context.Context, id string) *agent {
	e.agentsMu.Lock()
	defer e.agentsMu.Unlock()
	if e.agents == nil {
		e.agents = map[string]*agent{}
	}
	if a, ok := e.agents[id]; ok {
		if a == nil || !a.dead {
			return a
		}
	}
	a, err := e.startAgent(ctx, id)
	if err != nil {
		a = nil
	}
	e.agents[id] = a
	return a
}

// dropAgent forgets a container's agent (it stopped, or was removed).
func (e *Engine) dropAgent(id string) {
	e.agentsMu.Lock()
	defer e.agentsMu.Unlock()
	if a := e.agents[id]; a != nil {
		a.close()
	}
	delete(e.agents, id)
}
