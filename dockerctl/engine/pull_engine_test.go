package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// appRules syncs the whole context to /app.
var appRules = watcher.Rules{Steps: []watcher.Rule{{Source: ".", Dest: "/app", DestDir: true, Action: watcher.Sync, Line: 2}}}

// Files coming home never replace what the host has in their way: a folder
// where the container's file would go keeps its files and the container's
// copy goes to the conflicts folder; a folder tfdev cannot write in is an
// error that says the file stays in the container, where it does.
func TestPullHomeBadHostSide(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	sh(t, id, "mkdir -p /app/results /app/locked && echo from-container > /app/results/out.txt && echo keep > /app/locked/model.txt")
	writeFile(t, dir, "results/out.txt/inside.txt", "a folder stands where the file would go\n")
	if err := os.MkdirAll(filepath.Join(dir, "locked"), 0o755); err != nil {
		t.Fatal(err)
	}
	sums := parseSHA256Sum([]byte(sh(t, id, "sha256sum /app/results/out.txt /app/locked/model.txt")))
	ledger := model.NewLedger()

	rs, err := testEngine.PullHome(ctx, id, dir, appRules, map[string]string{"/app/results/out.txt": sums["/app/results/out.txt"]}, ledger, nil)
	if err != nil || len(rs) != 1 || !rs[0].Conflict || !strings.Contains(rs[0].To, ConflictDir) {
		t.Fatalf("a folder in the way: %+v %v", rs, err)
	}
	if b, _ := os.ReadFile(rs[0].To); string(b) != "from-container\n" {
		t.Errorf("the container's copy: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "results/out.txt/inside.txt")); len(b) == 0 {
		t.Error("the host's folder lost its file")
	}

	// An immutable folder: even root cannot write in it.
	locked := filepath.Join(dir, "locked")
	if out, err := exec.Command("chattr", "+i", locked).CombinedOutput(); err != nil {
		t.Skipf("chattr +i is not possible here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", locked).Run() })
	_, err = testEngine.PullHome(ctx, id, dir, appRules, map[string]string{"/app/locked/model.txt": sums["/app/locked/model.txt"]}, ledger, nil)
	if err == nil || !strings.Contains(err.Error(), "/app/locked/model.txt") || !strings.Contains(err.Error(), "it stays in the container") {
		t.Errorf("the locked folder: %v", err)
	}
	if got := sh(t, id, "cat /app/locked/model.txt"); got != "keep" {
		t.Errorf("the container's file: %q", got)
	}
	if _, ok := ledger.Get("/app/locked/model.txt"); ok {
		t.Error("the ledger took a file that never came home for agreed")
	}
}

// A 2 GB checkpoint written in the container comes home whole, streamed
// (memory stays flat) and with progress.
func TestPullHomeBigCheckpoint(t *testing.T) {
	requireEngine(t)
	if testing.Short() {
		t.Skip("2 GB through the Engine")
	}
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	const size = 2 << 30
	sh(t, id, "mkdir -p /app/ckpt && dd if=/dev/urandom of=/app/ckpt/model.bin bs=1M count=2048 2>/dev/null")
	sums := parseSHA256Sum([]byte(sh(t, id, "sha256sum /app/ckpt/model.bin")))
	var calls int
	var last, total int64
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rs, err := testEngine.PullHome(ctx, id, dir, appRules, sums, model.NewLedger(), func(p string, done, of int64) {
		calls++
		last, total = done, of
		if p != "/app/ckpt/model.bin" {
			t.Errorf("progress of %s", p)
		}
	})
	runtime.ReadMemStats(&after)
	if err != nil || len(rs) != 1 {
		t.Fatalf("%+v %v", rs, err)
	}
	if calls == 0 || total != size || last != size {
		t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
	}
	got, err := FileSHA256(filepath.Join(dir, "ckpt/model.bin"))
	if err != nil || got != sums["/app/ckpt/model.bin"] {
		t.Errorf("the checkpoint on the host: %s %v, want %s", got, err, sums["/app/ckpt/model.bin"])
	}
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 64<<20 {
		t.Errorf("the heap grew by %d MB for a 2 GB file", grew>>20)
	}
}
