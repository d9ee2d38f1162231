package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// BenchmarkSyncBranchSwitch: one Sync of a branch switch (5,000 files
// changed, 1,000 removed, 1,000 added) into a Jupyter container that holds
// the project's 20,000 files, guarded by the ledger as the session syncs.
func BenchmarkSyncBranchSwitch(b *testing.B) {
	requireEngine(b)
	needJupyter(b)
	ctx := context.Background()
	c := runJupyter(b, model.RunOptions{})
	dir := b.TempDir()
	ledger := model.NewLedger()
	var all []watcher.SyncItem
	body := func(d, f, v int) string { return fmt.Sprintf("# d%03d/f%03d v%d\n%0180d\n", d, f, v, 0) }
	for d := 0; d < 200; d++ {
		for f := 0; f < 100; f++ {
			p := fmt.Sprintf("src/d%03d/f%03d.py", d, f)
			writeFile(b, dir, p, body(d, f, 0))
			all = append(all, item(p, watcher.Changed))
		}
	}
	if _, err := testEngine.Sync(ctx, c.ID, dir, all, ledger); err != nil {
		b.Fatal(err)
	}
	var took []time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		b.StopTimer()
		var items []watcher.SyncItem
		for d := 0; d < 50; d++ {
			for f := 0; f < 100; f++ {
				p := fmt.Sprintf("src/d%03d/f%03d.py", d, f)
				writeFile(b, dir, p, body(d, f, i))
				items = append(items, item(p, watcher.Changed))
			}
		}
		for d := 50 + 10*(i%15); d < 60+10*(i%15); d++ {
			for f := 0; f < 100; f++ {
				p := fmt.Sprintf("src/d%03d/f%03d.py", d, f)
				os.Remove(filepath.Join(dir, p))
				items = append(items, item(p, watcher.Removed))
			}
		}
		for f := 0; f < 1000; f++ {
			p := fmt.Sprintf("src/new%d/f%04d.py", i, f)
			writeFile(b, dir, p, body(i, f, 2))
			items = append(items, item(p, watcher.Changed))
		}
		b.StartTimer()
		start := time.Now()
		res, err := testEngine.Sync(ctx, c.ID, dir, items, ledger)
		took = append(took, time.Since(start))
		if err != nil || res.Files != 6000 || res.Removed != 1000 || len(res.Conflicts) > 0 {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(median(took).Milliseconds()), "sync-ms")
}
