package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// The Python agent (Jupyter image) and the shell loop (busybox) answer
// the same frames the same way: extraction keeps permissions, owners and
// times, overwrites in place, replaces a link and never follows it, and
// refuses a folder in the way; state and removal agree.
func TestAgentsAgree(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	file := func(name, body string, mode int64) (*tar.Header, string) {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(body)), Uid: 1000, Gid: 100, ModTime: mtime, Format: tar.FormatPAX}, body
	}
	tarOf := func(entries ...any) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for i := 0; i < len(entries); i += 2 {
			tw.WriteHeader(entries[i].(*tar.Header))
			tw.Write([]byte(entries[i+1].(string)))
		}
		tw.Close()
		return buf.Bytes()
	}
	for _, c := range []struct{ image, kind string }{{testimage.Jupyter, "python"}, {testimage.Busybox, "plain"}} {
		t.Run(c.kind, func(t *testing.T) {
			ctx := context.Background()
			id := runSleeping(t, c.image)
			sh(t, id, "mkdir -p /app/keep /app/empty /app/in-the-way && echo secret > /tmp/target && ln -s /tmp/target /app/link.py && touch /app/keep/mine && echo old > /app/old.py")
			a := testEngine.AgentFor(ctx, id)
			if a == nil || a.kind != c.kind {
				t.Fatalf("agent %+v, want %s", a, c.kind)
			}
			h1, b1 := file("app/new/deep/n.py", "new\n", 0o750)
			h2, b2 := file("app/old.py", "overwritten\n", 0o644)
			h3, b3 := file("app/link.py", "not through the link\n", 0o644)
			if _, err := a.roundTrip('x', tarOf(h1, b1, h2, b2, h3, b3)); err != nil {
				t.Fatal(err)
			}
			got := sh(t, id, "cat /app/new/deep/n.py /app/old.py /app/link.py /tmp/target; stat -c '%a %u %g %Y' /app/new/deep/n.py; test -L /app/link.py && echo link")
			want := "new\noverwritten\nnot through the link\nsecret\n750 1000 100 " + strconv.FormatInt(mtime.Unix(), 10)
			if got != want {
				t.Errorf("after extraction:\n%s\nwant\n%s", got, want)
			}
			h4, b4 := file("app/in-the-way", "a file\n", 0o644)
			if _, err := a.roundTrip('x', tarOf(h4, b4)); err == nil {
				t.Error("a folder in the way was not an error")
			}
			if got := sh(t, id, "test -d /app/in-the-way && echo dir"); got != "dir" {
				t.Errorf("the folder in the way: %q", got)
			}

			st, err := testEngine.containerState(ctx, id, []string{"/app/old.py", "/app/keep", "/app/missing", "/app/new/deep/n.py"})
			if err != nil {
				t.Fatal(err)
			}
			_, sum, _ := copyHashed(io.Discard, strings.NewReader("overwritten\n"), -1)
			if st.content["/app/old.py"] != sum || st.content["/app/keep"] != dirState || st.content["/app/missing"] != "" ||
				st.mode["/app/new/deep/n.py"] != "750" || len(st.content) != 3 {
				t.Errorf("state %+v", st)
			}

			if _, err := a.roundTrip('r', nulList([]string{"/app/old.py", "/app/keep", "/app/empty", "/app/missing"})); err != nil {
				t.Fatal(err)
			}
			if got := sh(t, id, "ls /app"); got != "in-the-way\nkeep\nlink.py\nnew" {
				t.Errorf("after removal: %q", got)
			}
		})
	}
}
