package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// Sync at the scale of a real repository: 20,000 source files in 200
// folders, beside 50,000 data files that .dockerignore leaves out.
const (
	scaleDirs, scalePerDir = 200, 100
	scaleData              = 50_000
)

func scaleProject(b testing.TB) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "scale")
	write := func(rel, body string) { writeTestFile(b, filepath.Join(dir, rel), body) }
	write("Dockerfile", "ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\n")
	write(".dockerignore", ".tfdev\ndata/\n")
	for d := 0; d < scaleDirs; d++ {
		for f := 0; f < scalePerDir; f++ {
			write(fmt.Sprintf("src/d%03d/f%03d.py", d, f), scaleBody(d, f, 0))
		}
	}
	for i := 0; i < scaleData; i++ {
		write(fmt.Sprintf("data/d%02d/x%05d.bin", i%50, i), strconv.Itoa(i))
	}
	return dir
}

// scaleBody is a source file of about 200 bytes, version v.
func scaleBody(d, f, v int) string {
	return fmt.Sprintf("# module d%03d/f%03d, version %d\n", d, f, v) + strings.Repeat("x = 1  # padding\n", 10)
}

// synced waits until the sync events since the call add up to files
// written and removed, and returns when the last one came.
func (p *upProcess) synced(files, removed int) time.Time {
	p.t.Helper()
	var w, r int
	var last time.Time
	for w < files || r < removed {
		e, _ := p.nextEvent(event.Sync, nil)
		w, r, last = w+e.Files, r+e.Removed, time.Now()
	}
	return last
}

// sameTree fails unless the container's files under folders are the
// host's, file by file.
func sameTree(b testing.TB, dir, container string, folders ...string) {
	b.Helper()
	host := map[string]string{}
	for _, f := range folders {
		filepath.Walk(filepath.Join(dir, f), func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				body, _ := os.ReadFile(p)
				sum := sha256.Sum256(body)
				rel, _ := filepath.Rel(dir, p)
				host[rel] = hex.EncodeToString(sum[:])
			}
			return nil
		})
	}
	eng := needEngine(b)
	out, err := eng.ExecOK(context.Background(), container, "sh", "-c", "cd /app && find "+strings.Join(folders, " ")+" -type f -print0 | xargs -0 -r sha256sum")
	if err != nil {
		b.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if sum, p, ok := strings.Cut(l, "  "); ok {
			got[p] = sum
		}
	}
	var diff []string
	for p, s := range host {
		if got[p] != s {
			diff = append(diff, p)
		}
	}
	for p := range got {
		if _, ok := host[p]; !ok {
			diff = append(diff, p+" (not on the host)")
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		b.Fatalf("%d files differ, e.g. %v", len(diff), diff[:min(5, len(diff))])
	}
}

// vmHWM is the peak resident memory of process pid, in MB.
func vmHWM(b testing.TB, pid int) float64 {
	body, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// BenchmarkScale: tfdev up on a 20,000-file project (50,000 more files
// ignored). start: from the build's end until ready (watching, the
// context, the container); burst: 1,000 new files written, from the last
// write until the last of them is in the container; switch: a branch
// switch (5,000 files changed, 1,000 removed, 1,000 added), from the last
// write until the container holds them all; then the container is checked
// to be identical, file by file. rss: tfdev's peak resident memory.
func BenchmarkScale(b *testing.B) {
	needEngine(b)
	dir := scaleProject(b)
	up := startUp(b, dir, "--output", "json")
	up.nextEvent(event.BuildDone, nil)
	built, seen := time.Now(), len(up.seen)
	ready, _ := up.nextEvent(event.Ready, nil)
	start := time.Since(built)
	if os.Getenv("TFDEV_BENCH_DEBUG") != "" {
		b.Logf("the start:\n%s", strings.Join(up.seen[seen:], "\n"))
	}
	round := 0
	b.Run("burst", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; i < b.N; i++ {
			round++
			for f := 0; f < 1000; f++ {
				p := filepath.Join(dir, fmt.Sprintf("burst%d/f%04d.py", round, f))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(scaleBody(round, f, 1)), 0o644)
			}
			last := time.Now()
			lat = append(lat, up.synced(1000, 0).Sub(last))
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	})
	b.Run("switch", func(b *testing.B) {
		var lat []time.Duration
		for i := 0; i < b.N; i++ {
			round++
			for d := 0; d < 50; d++ { // 5,000 changed
				for f := 0; f < scalePerDir; f++ {
					os.WriteFile(filepath.Join(dir, fmt.Sprintf("src/d%03d/f%03d.py", d, f)), []byte(scaleBody(d, f, round)), 0o644)
				}
			}
			for d := 50 + 10*(round%15); d < 60+10*(round%15); d++ { // 1,000 removed
				for f := 0; f < scalePerDir; f++ {
					os.Remove(filepath.Join(dir, fmt.Sprintf("src/d%03d/f%03d.py", d, f)))
				}
			}
			for f := 0; f < 1000; f++ { // 1,000 added
				p := filepath.Join(dir, fmt.Sprintf("src/new%d/f%04d.py", round, f))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(scaleBody(round, f, 2)), 0o644)
			}
			last := time.Now()
			seen := len(up.seen)
			lat = append(lat, up.synced(6000, 1000).Sub(last))
			b.StopTimer()
			if os.Getenv("TFDEV_BENCH_DEBUG") != "" {
				b.Logf("last write %s; events:\n%s", last.Format(time.RFC3339Nano), strings.Join(up.seen[seen:], "\n"))
			}
			sameTree(b, dir, ready.Container, "src")
			b.StartTimer()
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
	})
	b.Run("start+memory", func(b *testing.B) {
		for i := 0; i < b.N; i++ { // measured once, above and throughout
		}
		b.ReportMetric(float64(start.Milliseconds()), "start-ms")
		b.ReportMetric(vmHWM(b, up.cmd.Process.Pid), "rss-MB")
	})
}

// A stop in the middle of a big sync never leaves the container half
// applied for good: a SIGTERM while "syncing N changes" runs, then the
// next up, and a SIGKILL there (the container left running as it was, the
// ledger as last saved), then the next up: each time the container ends
// identical to the host file by file, and nothing is called a conflict or
// brought home over the host's files.
func TestStopInTheMiddleOfABigSync(t *testing.T) {
	needEngine(t)
	dir := filepath.Join(t.TempDir(), "big")
	write := func(rel, body string) { writeTestFile(t, filepath.Join(dir, rel), body) }
	write("Dockerfile", "ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\n")
	write(".dockerignore", ".tfdev\n")
	const dirs = 40 // 4,000 files
	for d := 0; d < dirs; d++ {
		for f := 0; f < scalePerDir; f++ {
			write(fmt.Sprintf("src/d%03d/f%03d.py", d, f), scaleBody(d, f, 0))
		}
	}
	// switchBranch changes 3,000 files, removes 500 and adds 500.
	switchBranch := func(v int) {
		for d := 0; d < 30; d++ {
			for f := 0; f < scalePerDir; f++ {
				write(fmt.Sprintf("src/d%03d/f%03d.py", d, f), scaleBody(d, f, v))
			}
		}
		for d := 30 + 5*(v%2); d < 35+5*(v%2); d++ {
			for f := 0; f < scalePerDir; f++ {
				os.Remove(filepath.Join(dir, fmt.Sprintf("src/d%03d/f%03d.py", d, f)))
			}
		}
		for f := 0; f < 500; f++ {
			write(fmt.Sprintf("src/new%d/f%04d.py", v, f), scaleBody(v, f, 2))
		}
	}
	// The middle: the big sync's phase, or, where the engine writes faster
	// than the switch is made and the batches stay small, its first sync.
	inTheMiddle := func(e event.Event) bool {
		return e.Kind == event.Sync || e.Kind == event.Phase && e.State == event.StepRunning && strings.HasPrefix(e.Message, "syncing ")
	}
	var all []event.Event
	for round, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		up := startUp(t, dir, "--output", "json")
		_, passed := up.nextEvent(event.Ready, nil)
		all = append(all, passed...)
		switchBranch(round + 1)
		_, passed = up.nextWhere("the middle of the switch", inTheMiddle)
		all = append(all, passed...)
		if err := up.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if sig == syscall.SIGTERM {
			_, passed = up.nextEvent(event.Stop, nil)
			all = append(all, passed...)
			waitExit(t, up)
		} else {
			<-up.done
		}
	}
	up := startUp(t, dir, "--output", "json")
	ready, passed := up.nextEvent(event.Ready, nil)
	all = append(all, passed...)
	sameTree(t, dir, ready.Container, "src")
	for _, e := range all {
		if e.Kind == event.Rescue {
			t.Errorf("nothing was made in the container, yet: %s", e.Plain())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "src/d000/f000.py")); string(b) != scaleBody(0, 0, 2) {
		t.Errorf("src/d000/f000.py on the host is not the host's last write: %q", b)
	}
	up.stop()
}
