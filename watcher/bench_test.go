package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	bigTreeOnce sync.Once
	bigTreeDir  string
	bigTreeErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigTreeDir != "" {
		os.RemoveAll(bigTreeDir)
	}
	os.Exit(code)
}

// bigTree makes, once per process: 50,000 files in 5,000 directories (10
// top-level folders of 500 subfolders, or 10 x 10 x 50) and an ignored
// data/ of 200,000 files.
func bigTree(b *testing.B) string {
	bigTreeOnce.Do(func() {
		bigTreeDir, bigTreeErr = os.MkdirTemp("", "tfdev-bench-")
		if bigTreeErr != nil {
			return
		}
		mk := func(dir string, files int) {
			if bigTreeErr != nil {
				return
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				bigTreeErr = err
				return
			}
			for i := 0; i < files; i++ {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.py", i)), nil, 0o644); err != nil {
					bigTreeErr = err
					return
				}
			}
		}
		for i := 0; i < 10; i++ {
			for j := 0; j < 10; j++ {
				for k := 0; k < 50; k++ {
					mk(filepath.Join(bigTreeDir, "src", fmt.Sprint(i), fmt.Sprint(j), fmt.Sprint(k)), 10)
				}
			}
		}
		for i := 0; i < 200; i++ {
			mk(filepath.Join(bigTreeDir, "data", fmt.Sprint(i)), 1000)
		}
		os.WriteFile(filepath.Join(bigTreeDir, "Dockerfile"), []byte("FROM scratch\nCOPY . /app\n"), 0o644)
		os.WriteFile(filepath.Join(bigTreeDir, ".dockerignore"), []byte("data\n"), 0o644)
	})
	if bigTreeErr != nil {
		b.Fatal(bigTreeErr)
	}
	return bigTreeDir
}

// peakRSSMB reads this process's high-water resident set size.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkStartup: from New to "watching", on 50,000 files in 5,000
// directories plus an ignored data/ of 200,000 files.
func BenchmarkStartup(b *testing.B) {
	dir := bigTree(b)
	di, err := LoadDockerIgnore(dir, "Dockerfile")
	if err != nil {
		b.Fatal(err)
	}
	rules := Rules{Always: []string{"Dockerfile", ".dockerignore"}, Ignore: di}
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w, err := New(Options{Dir: dir, Rules: rules})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		watched := w.Watched()
		// root, src, 10, 100, 5000: one watch a directory, none under data/.
		if len(watched) != 1+1+10+100+5000 {
			b.Fatalf("%d watches", len(watched))
		}
		for _, d := range watched {
			if strings.HasPrefix(d, "data") {
				b.Fatalf("watched %s", d)
			}
		}
		w.Close()
		b.StartTimer()
	}
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
}

// BenchmarkWriteToBatch: from a file's write to its batch leaving the
// watcher, with the default 30 ms quiet window. Reports the median.
func BenchmarkWriteToBatch(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	w, err := New(Options{Dir: dir, Rules: Rules{Always: []string{"Dockerfile"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	lat := make([]time.Duration, 0, b.N)
	p := filepath.Join(dir, "train.py")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := os.WriteFile(p, []byte(fmt.Sprint(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case <-w.Batches():
			lat = append(lat, time.Since(start))
		case <-time.After(10 * time.Second):
			b.Fatal("no batch")
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(DefaultQuiet.Milliseconds()), "quiet-ms")
}

// BenchmarkClassify10k: 10,000 paths against the seed article's Dockerfile
// rules and .dockerignore.
func BenchmarkClassify10k(b *testing.B) {
	di, err := NewDockerIgnore(".dockerignore", []string{"__pycache__", "*.pyc", ".git", ".vscode", ".idea", "logs", "tmp", "data", ".DS_Store", "notebooks/*.ipynb"})
	if err != nil {
		b.Fatal(err)
	}
	rules := Rules{
		Dockerfile: "Dockerfile",
		Always:     []string{"Dockerfile", "Dockerfile.dockerignore", ".dockerignore"},
		Steps: []Rule{
			{Source: "requirements.txt", Dest: "/app", DestDir: true, Action: Rebuild, Line: 3},
			{Source: ".", Dest: "/app", DestDir: true, Action: Sync, Line: 6},
		},
		Ignore:   di,
		Triggers: NewTriggerFilter("checkpoints/"),
	}
	batch := make([]Change, 0, 10000)
	for i := 0; i < 10000; i++ {
		var p string
		switch i % 5 {
		case 0:
			p = fmt.Sprintf("src/m%d/f%d.py", i%100, i)
		case 1:
			p = fmt.Sprintf("data/%d/x%d.csv", i%50, i)
		case 2:
			p = fmt.Sprintf("notebooks/n%d.ipynb", i)
		case 3:
			p = fmt.Sprintf("src/m%d/__pycache__/f%d.pyc", i%100, i)
		default:
			p = fmt.Sprintf("pkg/a%d/b/c/d%d.txt", i%200, i)
		}
		batch = append(batch, Change{Path: p})
	}
	batch[0].Path = "requirements.txt"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A fresh matcher each time: no cache carried over from the last run.
		rules.Ignore, _ = NewDockerIgnore(".dockerignore", di.Patterns)
		p := Classify(batch, rules)
		if !p.NeedsRebuild() || len(p.Sync) == 0 || len(p.Ignored) == 0 {
			b.Fatalf("plan %d/%d/%d", len(p.Sync), len(p.Rebuild), len(p.Ignored))
		}
	}
}
