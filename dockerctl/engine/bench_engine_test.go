package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// BenchmarkSyncOneFile: from Sync called to the new content being in the
// container (CopyToContainer has returned), for one edited source file.
func BenchmarkSyncOneFile(b *testing.B) {
	requireEngine(b)
	id := runBusybox(b)
	dir := b.TempDir()
	items := []watcher.SyncItem{item("train.py", watcher.Changed)}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		writeFile(b, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
		b.StartTimer()
		start := time.Now()
		if _, err := testEngine.Sync(context.Background(), id, dir, items, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if got := sh(b, id, "cat /app/train.py"); got != fmt.Sprintf("print(%d)", b.N-1) {
		b.Fatalf("container has %q", got)
	}
	b.ReportMetric(float64(median(lat).Microseconds())/1000, "median-ms")
}

// BenchmarkSync1000Files: 1,000 small files in one batch, one upload.
func BenchmarkSync1000Files(b *testing.B) {
	requireEngine(b)
	id := runBusybox(b)
	dir := b.TempDir()
	items := thousandFiles(b, dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := testEngine.Sync(context.Background(), id, dir, items, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRebuildAfterRequirementsChange compares, on the seed-style
// fixture, tfdev's cached rebuild after a requirements.txt edit with a
// build of the same Dockerfile with no cache. The RUN stands for pip
// install and takes 2 s, as a small install would.
func BenchmarkRebuildAfterRequirementsChange(b *testing.B) {
	requireEngine(b)
	dir := b.TempDir()
	writeFile(b, dir, "Dockerfile", `ARG BASE
FROM ${BASE}
WORKDIR /app
RUN echo "system packages" && sleep 2
COPY requirements.txt /app/
RUN echo "installing $(wc -l < requirements.txt) requirements" && sleep 2
COPY . /app
`)
	writeFile(b, dir, "train.py", "print(1)\n")
	args := map[string]string{"BASE": testimage.Busybox}
	var cached, full time.Duration
	var ranCached, ranFull int
	for i := 0; i < b.N; i++ {
		writeFile(b, dir, "requirements.txt", fmt.Sprintf("numpy==1.24.2\n# %d %s\n", i, nonce(b)))
		p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{BuildArgs: args})
		if err != nil {
			b.Fatal(err)
		}
		// Warm: the state before the edit.
		if _, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p, BuildArgs: args}); err != nil {
			b.Fatal(err)
		}
		writeFile(b, dir, "requirements.txt", fmt.Sprintf("numpy==1.24.2\nscipy==1.10.1\n# %d %s\n", i, nonce(b)))
		for _, noCache := range []bool{false, true} {
			res, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p, BuildArgs: args, NoCache: noCache})
			if err != nil {
				b.Fatal(err)
			}
			removeImageOnCleanup(b, res.ImageID)
			ran := 0
			for _, s := range res.Steps {
				if s.State == model.StepDone {
					ran++
				}
			}
			if noCache {
				full += res.Duration
				ranFull += ran
			} else {
				cached += res.Duration
				ranCached += ran
			}
		}
	}
	b.ReportMetric(cached.Seconds()/float64(b.N), "cached-s")
	b.ReportMetric(full.Seconds()/float64(b.N), "nocache-s")
	b.ReportMetric(float64(ranCached)/float64(b.N), "cached-steps-run")
	b.ReportMetric(float64(ranFull)/float64(b.N), "nocache-steps-run")
}
