package dockerctl

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// BenchmarkSyncOneFileGuarded: BenchmarkSyncOneFile with the session's
// ledger, so the guard reads the container's copy before writing.
func BenchmarkSyncOneFileGuarded(b *testing.B) {
	requireEngine(b)
	id := runBusybox(b)
	dir := b.TempDir()
	items := []watcher.SyncItem{item("train.py", watcher.Changed)}
	ledger := model.NewLedger()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		writeFile(b, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
		start := time.Now()
		if res, err := testEngine.Sync(context.Background(), id, dir, items, ledger); err != nil || res.Files != 1 {
			b.Fatal(res, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(median(lat).Microseconds())/1000, "median-ms")
}

// jupyterSession builds a Jupyter image of a project whose source goes to
// /app while Jupyter serves /tf, and returns the executor's started,
// watched container.
func jupyterSession(b *testing.B, files int) (*executor, <-chan loop.Input, *dockerfile.Project, *model.Container) {
	b.Helper()
	return jupyterSessionOn(b, testEngine, files)
}

// jupyterSessionOn is jupyterSession with the executor on the Engine
// given (the container is the local Engine's: over ssh, the same one).
func jupyterSessionOn(b *testing.B, eng *engine.Engine, files int) (*executor, <-chan loop.Input, *dockerfile.Project, *model.Container) {
	b.Helper()
	if err := testimage.EnsureJupyter(context.Background(), testEngine.API(), testLog{}); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	writeFile(b, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nWORKDIR /app\nCOPY . .\n")
	writeFile(b, dir, ".dockerignore", ".tfdev\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	res, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p})
	if err != nil {
		b.Fatal(err)
	}
	removeImageOnCleanup(b, res.ImageID)
	async := make(chan loop.Input, 1024)
	x := newExecutor(enginePorts(eng), SessionOptions{ReadyTimeout: engine.ReadyTimeout}, model.GPUSupport{}, func(event.Event) {}, async)
	b.Cleanup(x.wait)
	var c *model.Container
	for _, in := range x.start(context.Background(), p, res) {
		if st, ok := in.(loop.Started); ok {
			if st.Err != nil {
				b.Fatal(st.Err)
			}
			c = st.C
		}
	}
	b.Cleanup(func() { testEngine.Remove(context.Background(), c.ID) })
	if _, err := testEngine.WaitJupyter(context.Background(), c, 0); err != nil {
		b.Fatal(err)
	}
	if files > 0 {
		var items []watcher.SyncItem
		for i := 0; i < files; i++ {
			p := fmt.Sprintf("src/pkg%d/m%d.py", i%100, i)
			writeFile(b, dir, p, fmt.Sprintf("v = %d\n", i))
			items = append(items, watcher.SyncItem{Change: watcher.Change{Path: p}, Dest: "/app/" + p})
		}
		if _, err := testEngine.Sync(context.Background(), c.ID, dir, items, x.ledgerOf(c.ID)); err != nil {
			b.Fatal(err)
		}
	}
	x.watch(context.Background(), p, c)
	return x, async, p, c
}

// BenchmarkJupyterSaveToHost: a notebook saved through Jupyter's contents
// API (as the browser saves) until it is on the host.
func BenchmarkJupyterSaveToHost(b *testing.B) {
	requireEngine(b)
	x, async, p, c := jupyterSession(b, 0)
	var lat []time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("nb%d.ipynb", i)
		start := time.Now()
		nb := `{"type":"notebook","format":"json","content":{"cells":[],"metadata":{},"nbformat":4,"nbformat_minor":5}}`
		req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+strconv.Itoa(c.HostPort)+"/api/contents/"+name, strings.NewReader(nb))
		req.Header.Set("Authorization", "token "+c.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for {
			in := <-async
			ch, ok := in.(loop.ContainerChanged)
			if !ok {
				continue
			}
			if _, err := testEngine.PullHome(context.Background(), c.ID, p.Dir, p.Rules, ch.Sums, x.ledgerOf(c.ID), nil); err != nil {
				b.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(p.Dir, engine.KeptDir, "tf", name)); err == nil {
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(median(lat).Microseconds())/1000, "median-ms")
}

// BenchmarkStopRescue: a stop (bring home what changed, stop the
// container) of a Jupyter container with 8,000 synced files and 20 written
// in the container, beside the Engine's own list of changes on the same
// container, which rescue used before.
func BenchmarkStopRescue(b *testing.B) {
	requireEngine(b)
	for _, files := range []int{0, 8000} {
		b.Run(fmt.Sprintf("synced-%d", files), func(b *testing.B) {
			var stop, diff time.Duration
			for i := 0; i < b.N; i++ {
				x, _, p, c := jupyterSession(b, files)
				sh(b, c.ID, "mkdir -p /tf/out && for i in $(seq 1 20); do echo $i > /tf/out/r$i.txt; done")
				start := time.Now()
				if _, err := testEngine.API().ContainerDiff(context.Background(), c.ID); err != nil {
					b.Fatal(err)
				}
				diff += time.Since(start)
				start = time.Now()
				ins := x.shutdown(loop.Shutdown{Project: p, C: c})
				stop += time.Since(start)
				st := ins[0].(loop.Stopped)
				if st.Err != nil || len(st.Rescued) != 20 {
					b.Fatalf("stop: %d rescued, %v", len(st.Rescued), st.Err)
				}
			}
			b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s")
			b.ReportMetric(diff.Seconds()/float64(b.N), "containerdiff-s")
		})
	}
}

// BenchmarkStopRescueOverSSH: a stop bringing home 20 files written in a
// Jupyter container, with the session's Engine on the local socket and
// over ssh.
func BenchmarkStopRescueOverSSH(b *testing.B) {
	requireEngine(b)
	for _, over := range []string{"local", "ssh"} {
		b.Run(over, func(b *testing.B) {
			eng := testEngine
			if over == "ssh" {
				eng = sshEngine(b)
			}
			var stop time.Duration
			for i := 0; i < b.N; i++ {
				x, _, p, c := jupyterSessionOn(b, eng, 0)
				sh(b, c.ID, "mkdir -p /tf/out && for i in $(seq 1 20); do echo $i > /tf/out/r$i.txt; done")
				start := time.Now()
				st := x.shutdown(loop.Shutdown{Project: p, C: c})[0].(loop.Stopped)
				stop += time.Since(start)
				if st.Err != nil || len(st.Rescued) != 20 {
					b.Fatalf("stop: %d rescued, %v", len(st.Rescued), st.Err)
				}
			}
			b.ReportMetric(stop.Seconds()/float64(b.N), "stop-s")
		})
	}
}

// BenchmarkReattach20k: a reconcile (what a reattach or restart runs) of a
// 20,000-file project with 10 files changed on the host meanwhile: only
// those 10 are hashed in the container and sent.
func BenchmarkReattach20k(b *testing.B) {
	requireEngine(b)
	id := runBusybox(b)
	dir := b.TempDir()
	writeFile(b, dir, "Dockerfile", "FROM x\nCOPY . /app\n")
	var items []watcher.SyncItem
	for i := 0; i < 20000; i++ {
		p := fmt.Sprintf("src/d%d/m%d.py", i%200, i)
		writeFile(b, dir, p, fmt.Sprintf("v = %d\n", i))
		items = append(items, watcher.SyncItem{Change: watcher.Change{Path: p}, Dest: "/app/" + p})
	}
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ledger := model.NewLedger()
	if _, err := testEngine.Sync(context.Background(), id, dir, items, ledger); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		for j := 0; j < 10; j++ {
			writeFile(b, dir, fmt.Sprintf("src/d%d/m%d.py", j, j), fmt.Sprintf("v = %d # run %d\n", j, i))
		}
		start := time.Now()
		res, err := testEngine.Reconcile(context.Background(), id, dir, p.Rules, nil, ledger)
		total += time.Since(start)
		if err != nil || res.Files != 10 {
			b.Fatalf("reconcile: %+v %v", res, err)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "reconcile-s")
}
