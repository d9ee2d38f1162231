package dockerctl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
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

// benchSession runs tfdev's whole loop in this process on a Jupyter
// project made of files, until its container is ready; the session's
// events keep coming on the channel.
func benchSession(b testing.TB, files map[string]string) (dir string, ready event.Event, events <-chan event.Event) {
	return benchSessionOn(b, testEngine, files)
}

// benchSessionOn is benchSession on the Engine given.
func benchSessionOn(b testing.TB, eng *engine.Engine, files map[string]string) (dir string, ready event.Event, events <-chan event.Event) {
	b.Helper()
	dir = b.TempDir()
	for p, content := range files {
		writeFile(b, dir, p, content)
	}
	o := SessionOptions{Dir: dir, Port: 0}
	if eng != testEngine {
		o.JupyterVia = JupyterViaExec // as tfdev up does for a remote Engine
	}
	ready, events, _ = runSessionOn(b, eng, o, nil)
	return dir, ready, events
}

// runSession runs a session in this process until its container is
// ready; stop ends it (and the test's end does, if not called).
func runSession(b testing.TB, o SessionOptions) (ready event.Event, events <-chan event.Event, stop func()) {
	b.Helper()
	return runSessionSeeing(b, o, nil)
}

// runSessionSeeing is runSession, with seen called on every event up to
// ready.
func runSessionSeeing(b testing.TB, o SessionOptions, seen func(event.Event)) (ready event.Event, events <-chan event.Event, stop func()) {
	b.Helper()
	return runSessionOn(b, testEngine, o, seen)
}

// runSessionOn is runSessionSeeing on the Engine given.
func runSessionOn(b testing.TB, eng *engine.Engine, o SessionOptions, seen func(event.Event)) (ready event.Event, events <-chan event.Event, stop func()) {
	b.Helper()
	if err := testimage.EnsureJupyter(context.Background(), testEngine.API(), testLog{}); err != nil {
		b.Fatal(err)
	}
	ch := make(chan event.Event, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	o.Emit = func(e event.Event) { ch <- e }
	s := NewSession(eng, o)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			go func() {
				for range ch { // the stop's events
				}
			}()
			<-done
			close(ch)
		})
	}
	b.Cleanup(func() {
		stop()
		if o.Keep {
			return
		}
		ids, _ := testEngine.ProjectContainers(context.Background(), o.Dir)
		for _, id := range ids {
			testEngine.Remove(context.Background(), id)
		}
	})
	for ready.Kind == "" {
		select {
		case e := <-ch:
			if seen != nil {
				seen(e)
			}
			if e.Kind == event.Ready {
				ready = e
			}
			if e.Kind == event.BuildFailed {
				b.Fatalf("the build failed: %s", e.Text())
			}
		case err := <-done:
			b.Fatalf("the session ended: %v", err)
		}
	}
	return ready, ch, stop
}

// loopSessionOn runs tfdev's whole loop on a project whose source goes to
// /app, and starts the waiter in its container on folder.
// The session is on the Engine given; the waiter runs through the local
// socket.
func loopSessionOn(b *testing.B, eng *engine.Engine, folder string) (dir string, lines <-chan string) {
	b.Helper()
	dir, ready, events := benchSessionOn(b, eng, map[string]string{
		"Dockerfile":    "FROM " + testimage.Jupyter + "\nWORKDIR /app\nCOPY . .\n",
		".dockerignore": ".tfdev\n",
		"train.py":      "print(0)\n",
		"burst/.keep":   "\n",
	})
	go func() {
		for range events { // keep the session's events flowing
		}
	}()
	created, err := testEngine.API().ContainerExecCreate(context.Background(), ready.Container, container.ExecOptions{
		Cmd: []string{"python3", "-u", "-c", waiterPy, folder}, AttachStdout: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	att, err := testEngine.API().ContainerExecAttach(context.Background(), created.ID, container.ExecAttachOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(att.Close)
	out := make(chan string, 4096)
	go func() {
		r := bufio.NewReader(att.Reader)
		var fl engine.FrameLines
		for {
			l, err := fl.Next(r)
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
	saveToReadable(b, testEngine)
}

func saveToReadable(b *testing.B, eng *engine.Engine) {
	dir, lines := loopSessionOn(b, eng, "/app")
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
	burst1000(b, testEngine)
}

func burst1000(b *testing.B, eng *engine.Engine) {
	dir, lines := loopSessionOn(b, eng, "/app/burst")
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

// BenchmarkRequirementsToServing: a comment added to requirements.txt
// until the new image's container serves through the same URL (its
// "ready"), beside the build's own time, with a client polling
// /api/status through the front door every 200 ms the whole time: its
// failed requests are counted.
func BenchmarkRequirementsToServing(b *testing.B) {
	requireEngine(b)
	dir, ready, events := benchSession(b, map[string]string{
		"Dockerfile": "FROM " + testimage.Jupyter + "\nWORKDIR /app\nCOPY requirements.txt /tmp/requirements.txt\n" +
			"RUN pip install --no-index -r /tmp/requirements.txt\nCOPY . .\n",
		".dockerignore":    ".tfdev\n",
		"requirements.txt": "numpy==1.24.2\n",
		"train.py":         "print(0)\n",
	})
	u, err := neturl.Parse(ready.URL)
	if err != nil {
		b.Fatal(err)
	}
	status := u.Scheme + "://" + u.Host + "/api/status?" + u.RawQuery
	var serving, builds, over []time.Duration
	failed := 0
	for i := 0; i < b.N; i++ {
		stop := make(chan struct{})
		polled := make(chan int, 1)
		go func() { polled <- pollFailures(status, stop) }()
		start := time.Now()
		writeFile(b, dir, "requirements.txt", fmt.Sprintf("numpy==1.24.2\n# run %d\n", i))
		var built time.Duration
		replaced := false
		for e := range events {
			switch {
			case e.Kind == event.BuildDone:
				built = e.Duration
			case e.Kind == event.BuildFailed || e.Kind == event.Error:
				b.Fatalf("%s: %s", e.Kind, e.Text())
			case e.Kind == event.Container && strings.HasPrefix(e.Message, "replaced "):
				replaced = true
			}
			if replaced && e.Kind == event.Ready {
				if e.URL != ready.URL {
					b.Fatalf("the URL changed: %s -> %s", ready.URL, e.URL)
				}
				break
			}
		}
		took := time.Since(start)
		close(stop)
		failed += <-polled
		serving, builds, over = append(serving, took), append(builds, built), append(over, took-built)
	}
	s := func(d time.Duration) float64 { return d.Seconds() }
	b.ReportMetric(s(median(serving)), "serving-s")
	b.ReportMetric(s(median(builds)), "build-s")
	b.ReportMetric(s(median(over)), "beyond-build-s")
	b.ReportMetric(float64(failed), "failed-requests")
}

// pollFailures asks url every 200 ms until stop and returns how many
// requests failed.
func pollFailures(url string, stop <-chan struct{}) int {
	failed := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-stop:
			return failed
		case <-tick.C:
			resp, err := client.Get(url)
			if err != nil {
				failed++
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed++
			}
		}
	}
}
