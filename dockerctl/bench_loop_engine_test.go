package dockerctl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// waiterPy runs in the container: it prints each file of the folder given
// as it is written (inotify, no polling), as "<name> <first line>".
const waiterPy = `import ctypes, os, struct, sys
libc = ctypes.CDLL(None)
fd = libc.inotify_init()
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x8 | 0x80)
print("ready", flush=True)
while True:
    data = os.read(fd, 65536)
    i = 0
    while i < len(data):
        wd, mask, _, n = struct.unpack_from("iIII", data, i)
        name = data[i + 16:i + 16 + n].rstrip(b"\0").decode()
        i += 16 + n
        try:
            with open(os.path.join(sys.argv[1], name)) as f:
                print(name, f.readline().strip(), flush=True)
        except OSError:
            pass
`

// loopSession runs tfdev's whole loop in this process on a Jupyter
// project whose source goes to /app, and starts the waiter in its
// container on folder.
func loopSession(b *testing.B, folder string) (dir string, lines <-chan string) {
	b.Helper()
	if err := testimage.EnsureJupyter(context.Background(), testEngine.api, testLog{}); err != nil {
		b.Fatal(err)
	}
	dir = b.TempDir()
	writeFile(b, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nWORKDIR /app\nCOPY . .\n")
	writeFile(b, dir, ".dockerignore", ".tfdev\n")
	writeFile(b, dir, "train.py", "print(0)\n")
	if err := os.MkdirAll(filepath.Join(dir, "burst"), 0o755); err != nil {
		b.Fatal(err)
	}
	writeFile(b, dir, "burst/.keep", "\n")
	events := make(chan event.Event, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	s := NewSession(testEngine, SessionOptions{Dir: dir, Port: 0, Emit: func(e event.Event) { events <- e }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		ids, _ := testEngine.ProjectContainers(context.Background(), dir)
		for _, id := range ids {
			testEngine.Remove(context.Background(), id)
		}
	})
	var name string
	for name == "" {
		select {
		case e := <-events:
			if e.Kind == event.Ready {
				name = e.Container
			}
		case <-time.After(5 * time.Minute): // a bound, not a timing assertion
			b.Fatal("no ready")
		}
	}
	go func() {
		for range events { // keep the session's events flowing
		}
	}()
	created, err := testEngine.api.ContainerExecCreate(context.Background(), name, container.ExecOptions{
		Cmd: []string{"python3", "-u", "-c", waiterPy, folder}, AttachStdout: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	att, err := testEngine.api.ContainerExecAttach(context.Background(), created.ID, container.ExecAttachOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(att.Close)
	out := make(chan string, 4096)
	go func() {
		r := bufio.NewReader(att.Reader)
		var fl frameLines
		for {
			l, err := fl.next(r)
			if err != nil {
				close(out)
				return
			}
			out <- l
		}
	}()
	if l := <-out; l != "ready" {
		b.Fatalf("waiter: %q", l)
	}
	return dir, out
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkSaveToReadable: a save on the host until a waiter in the
// container (inotify) has read the new content, through tfdev's whole loop:
// the watcher, its quiet window, the guard and the sync agent.
func BenchmarkSaveToReadable(b *testing.B) {
	requireEngine(b)
	dir, lines := loopSession(b, "/app")
	var lat []time.Duration
	for i := 1; i <= b.N; i++ {
		want := fmt.Sprintf("train.py print(%d)", i)
		start := time.Now()
		writeFile(b, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
		for l := range lines {
			if l == want {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.9).Microseconds())/1000, "p90-ms")
}

// BenchmarkBurst1000: 1,000 new files written on the host (a branch
// switch), from the last write until the waiter in the container has seen
// all of them.
func BenchmarkBurst1000(b *testing.B) {
	requireEngine(b)
	dir, lines := loopSession(b, "/app/burst")
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		for j := 0; j < 1000; j++ {
			writeFile(b, dir, fmt.Sprintf("burst/f%d.py", j), fmt.Sprintf("v = %d_%d\n", i, j))
		}
		last := time.Now()
		seen := map[string]bool{}
		suffix := fmt.Sprintf("v = %d_", i)
		for l := range lines {
			if name, first, ok := strings.Cut(l, " "); ok && strings.HasPrefix(first, suffix) {
				seen[name] = true
			}
			if len(seen) == 1000 {
				break
			}
		}
		lat = append(lat, time.Since(last))
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "p50-ms")
}
