package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

var appRule = enginetest.AppRule

func TestSyncIntoARunningContainer(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	before, _ := testEngine.api.ContainerInspect(ctx, id)
	ledger := model.NewLedger()
	sync := func(items ...watcher.SyncItem) model.SyncResult {
		t.Helper()
		res, err := testEngine.Sync(ctx, id, dir, items, ledger)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %v", res.Errors)
		}
		return res
	}

	writeFile(t, dir, "train.py", "print(1)\n")
	writeFile(t, dir, "old.py", "old\n")
	writeFile(t, dir, "a/b/c/deep.py", "deep\n")
	writeFile(t, dir, "my dir/ünï côde.py", "unicode\n")
	writeFile(t, dir, "run.sh", "#!/bin/sh\necho hi\n")
	os.Chmod(filepath.Join(dir, "run.sh"), 0o750)
	os.Symlink("train.py", filepath.Join(dir, "link.py"))
	res := sync(item("train.py", watcher.Changed), item("old.py", watcher.Changed), item("a/b/c/deep.py", watcher.Changed),
		item("my dir/ünï côde.py", watcher.Changed), item("run.sh", watcher.Changed), item("link.py", watcher.Changed))
	if res.Files != 6 || res.Bytes != int64(len("print(1)\nold\ndeep\nunicode\n#!/bin/sh\necho hi\n")) {
		t.Errorf("result %+v", res)
	}
	if got := sh(t, id, "cat /app/train.py /app/a/b/c/deep.py '/app/my dir/ünï côde.py'"); got != "print(1)\ndeep\nunicode" {
		t.Errorf("contents %q", got)
	}
	if got := sh(t, id, "stat -c %a /app/run.sh; readlink /app/link.py"); got != "750\ntrain.py" {
		t.Errorf("mode and link %q", got)
	}

	// An edit: the new content is there, and nothing was built.
	writeFile(t, dir, "train.py", "print(2)\n")
	sync(item("train.py", watcher.Changed))
	if got := sh(t, id, "cat /app/train.py"); got != "print(2)" {
		t.Errorf("after edit %q", got)
	}
	sum := sha256.Sum256([]byte("print(2)\n"))
	if h, ok := ledger.Get("/app/train.py"); !ok || h != hex.EncodeToString(sum[:]) {
		t.Errorf("ledger %q", h)
	}

	// A rename and a delete of a folder (the watcher reports every path
	// it knew under it). A file the container made in that folder stays,
	// and so does the folder around it.
	sh(t, id, "echo mine > /app/a/b/made-here.txt")
	os.Rename(filepath.Join(dir, "old.py"), filepath.Join(dir, "new.py"))
	os.RemoveAll(filepath.Join(dir, "a"))
	res = sync(item("old.py", watcher.Removed), item("new.py", watcher.Changed), item("a/b/c/deep.py", watcher.Removed),
		item("a/b/c", watcher.Removed), item("a/b", watcher.Removed), item("a", watcher.Removed))
	if res.Removed != 5 || res.Files != 1 {
		t.Errorf("rename result %+v", res)
	}
	if got := sh(t, id, "ls /app/old.py /app/a/b/c 2>&1 | wc -l; cat /app/new.py /app/a/b/made-here.txt"); got != "2\nold\nmine" {
		t.Errorf("after rename %q", got)
	}

	// A path whose event said "changed" but that is gone: removed.
	sync(item("train.py", watcher.Changed), item("vanished.py", watcher.Changed))
	os.Remove(filepath.Join(dir, "train.py"))
	sync(item("train.py", watcher.Changed))
	if got := sh(t, id, "test -e /app/train.py && echo there || echo gone"); got != "gone" {
		t.Errorf("vanished file: %q", got)
	}

	after, _ := testEngine.api.ContainerInspect(ctx, id)
	if after.Image != before.Image || !after.State.Running {
		t.Error("the container's image changed or it stopped")
	}
}

func TestSyncChown(t *testing.T) {
	requireEngine(t)
	id := runBusybox(t)
	dir := t.TempDir()
	writeFile(t, dir, "x.py", "x")
	rule := &watcher.Rule{Source: ".", Dest: "/srv", DestDir: true, Action: watcher.Sync, Chown: "1000:1001", Chmod: "640"}
	_, err := testEngine.Sync(context.Background(), id, dir, []watcher.SyncItem{{Change: watcher.Change{Path: "x.py"}, Dest: "/srv/x.py", Rule: rule}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := sh(t, id, "stat -c '%u:%g %a' /srv/x.py"); got != "1000:1001 640" {
		t.Errorf("owner and mode %q", got)
	}
	rule.Chown = "nobody"
	if _, err := testEngine.Sync(context.Background(), id, dir, []watcher.SyncItem{{Change: watcher.Change{Path: "x.py"}, Dest: "/srv/x.py", Rule: rule}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := sh(t, id, "stat -c '%u:%g' /srv/x.py"); got != "65534:65534" {
		t.Errorf("named owner %q", got)
	}
}

func TestSyncThousandFilesInOneUpload(t *testing.T) {
	requireEngine(t)
	id := runBusybox(t)
	dir := t.TempDir()
	items := thousandFiles(t, dir)
	before := testEngine.uploads.Load()
	res, err := testEngine.Sync(context.Background(), id, dir, items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testEngine.uploads.Load() - before; n != 1 {
		t.Errorf("%d uploads, want 1", n)
	}
	if res.Files != 1000 {
		t.Errorf("result %+v", res)
	}
	if got := sh(t, id, "find /app -type f | wc -l; cat /app/pkg7/m537.py"); got != "1000\nv = 537" {
		t.Errorf("in the container: %q", got)
	}
}

func TestSyncRefusesTheRoot(t *testing.T) {
	requireEngine(t)
	id := runBusybox(t)
	res, err := testEngine.Sync(context.Background(), id, t.TempDir(),
		[]watcher.SyncItem{{Change: watcher.Change{Path: "x", Op: watcher.Removed}, Dest: "/"}}, nil)
	if err != nil || len(res.Errors) != 1 || res.Removed != 0 {
		t.Errorf("res %+v err %v", res, err)
	}
	if got := sh(t, id, "test -e /bin/sh && echo ok"); got != "ok" {
		t.Error("the root was touched")
	}
}

// Small batches go through the container's sync agent; an image that cannot
// run it gets the Engine's archive API instead, with the same result.
func TestSyncAgentAndFallback(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	writeFile(t, dir, "a.py", "agent\n")
	if _, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("a.py", watcher.Changed)}, nil); err != nil {
		t.Fatal(err)
	}
	if a := testEngine.AgentFor(ctx, id); a == nil {
		t.Fatal("no agent in a busybox container")
	}
	if got := sh(t, id, "cat /app/a.py"); got != "agent" {
		t.Errorf("through the agent: %q", got)
	}

	// An image without a shell cannot run the agent: busybox alone, with no
	// applet links.
	bare := t.TempDir()
	bin, err := os.ReadFile(testimage.BusyboxBinary)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bare, "busybox"), bin, 0o755)
	writeFile(t, bare, "Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n")
	res := buildDir(t, bare)
	c, err := testEngine.Create(ctx, model.RunOptions{Dir: bare, Image: res.ImageID})
	if err != nil {
		t.Fatal(err)
	}
	defer testEngine.Remove(ctx, c.ID)
	if err := testEngine.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	before := testEngine.uploads.Load()
	writeFile(t, dir, "a.py", "archive\n")
	if _, err := testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("a.py", watcher.Changed)}, nil); err != nil {
		t.Fatal(err)
	}
	if a := testEngine.AgentFor(ctx, c.ID); a != nil {
		t.Error("an agent started without a shell")
	}
	got, err := testEngine.Exec(ctx, c.ID, "/bin/busybox", "cat", "/app/a.py")
	if err != nil || string(got.Stdout) != "archive\n" || testEngine.uploads.Load()-before != 1 {
		t.Errorf("through the archive API: %q %v", got.Stdout, err)
	}
}

// A big file is streamed into the container: the heap does not grow with
// the file.
func TestSyncBigFileWithFlatMemory(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	const size = 256 << 20
	f, err := os.Create(filepath.Join(dir, "weights.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // sparse: zeros, no disk
		t.Fatal(err)
	}
	f.Close()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak {
				peak = m.HeapAlloc
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("weights.bin", watcher.Changed)}, nil)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != size {
		t.Errorf("sent %d bytes", res.Bytes)
	}
	if got := sh(t, id, "stat -c %s /app/weights.bin"); got != fmt.Sprint(size) {
		t.Errorf("size in the container %s", got)
	}
	if grew := int64(peak) - int64(base.HeapAlloc); grew > 32<<20 {
		t.Errorf("the heap grew by %d MB while syncing a %d MB file", grew>>20, size>>20)
	}
}

// Content the container already has (per the ledger) is not sent again: a
// touch, or a file tfdev itself just wrote back, costs nothing and does not
// replace the file under a reader.
func TestSyncSkipsUnchangedContent(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	ledger := model.NewLedger()
	writeFile(t, dir, "nb.ipynb", "{}\n")
	if res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("nb.ipynb", watcher.Changed)}, ledger); err != nil || res.Files != 1 {
		t.Fatalf("first sync: %+v %v", res, err)
	}
	before := testEngine.uploads.Load()
	writeFile(t, dir, "nb.ipynb", "{}\n") // same bytes, new mtime
	res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("nb.ipynb", watcher.Changed)}, ledger)
	if err != nil || res.Files != 0 || testEngine.uploads.Load() != before {
		t.Errorf("unchanged content was sent: %+v %v", res, err)
	}
	writeFile(t, dir, "nb.ipynb", "{\"changed\": true}\n")
	if res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("nb.ipynb", watcher.Changed)}, ledger); err != nil || res.Files != 1 {
		t.Errorf("changed content: %+v %v", res, err)
	}
}

// The container changed a file, then the host did too (a git pull after a
// save in Jupyter): neither is overwritten, the container's copy comes home
// to the conflicts folder, and the user's next save goes in. A folder the
// container made where the host now has a file is a conflict too.
func TestSyncNeverOverwritesTheContainersEdits(t *testing.T) {
	requireEngine(t)
	eachAgent(t, syncNeverOverwritesTheContainersEdits)
}

// eachAgent runs test with a container of each kind of agent: the shell
// loop (busybox), whose guard is a round of its own, and the Python agent
// (the Jupyter image), which guards each file as it writes it.
func eachAgent(t *testing.T, test func(t *testing.T, id string)) {
	for _, c := range []struct{ image, kind string }{{testimage.Busybox, "plain"}, {testimage.Jupyter, "python"}} {
		t.Run(c.kind, func(t *testing.T) {
			if c.kind == "python" {
				needJupyter(t)
			}
			id := runSleeping(t, c.image)
			if a := testEngine.AgentFor(context.Background(), id); a == nil || a.kind != c.kind || a.guard != (c.kind == "python") {
				t.Fatalf("the agent: %+v", a)
			}
			test(t, id)
		})
	}
}

func syncNeverOverwritesTheContainersEdits(t *testing.T, id string) {
	ctx := context.Background()
	dir := t.TempDir()
	ledger := model.NewLedger()
	item := func(p string) watcher.SyncItem {
		return watcher.SyncItem{Change: watcher.Change{Path: p}, Dest: "/app/" + p}
	}
	writeFile(t, dir, "notebooks/explore.ipynb", "v1\n")
	writeFile(t, dir, "results.csv", "1,2\n")
	writeFile(t, dir, "same.py", "v1\n")
	writeFile(t, dir, "plain.py", "v1\n")
	all := []watcher.SyncItem{item("notebooks/explore.ipynb"), item("results.csv"), item("same.py"), item("plain.py")}
	if _, err := testEngine.Sync(ctx, id, dir, all, ledger); err != nil {
		t.Fatal(err)
	}
	sh(t, id, "echo saved-in-jupyter > /app/notebooks/explore.ipynb; mkdir -p /app/out/run1; echo weights > /app/out/run1/w.bin; echo 3,4 > /app/results.csv; echo v2 > /app/same.py")
	writeFile(t, dir, "notebooks/explore.ipynb", "from git\n")
	writeFile(t, dir, "out/run1", "a file where the container has a folder\n")
	writeFile(t, dir, "same.py", "v2\n")  // the same edit on both sides: no conflict
	writeFile(t, dir, "plain.py", "v2\n") // only the host's: it goes in
	os.Remove(filepath.Join(dir, "results.csv"))
	res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("notebooks/explore.ipynb"), item("out/run1"), item("results.csv"), item("same.py"), item("plain.py")}, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 1 || res.Removed != 0 || len(res.Conflicts) != 3 {
		t.Fatalf("result %+v", res)
	}
	if got := sh(t, id, "cat /app/notebooks/explore.ipynb /app/out/run1/w.bin /app/results.csv /app/same.py /app/plain.py"); got != "saved-in-jupyter\nweights\n3,4\nv2\nv2" {
		t.Errorf("the container's files were overwritten or removed: %q", got)
	}
	if got, _ := ledger.Get("/app/same.py"); got != sha("v2\n") {
		t.Errorf("the ledger at same.py: %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notebooks/explore.ipynb")); string(b) != "from git\n" {
		t.Errorf("the host's file was overwritten: %q", b)
	}
	for _, c := range res.Conflicts {
		if c.From != "/app/notebooks/explore.ipynb" {
			continue
		}
		if b, _ := os.ReadFile(c.To); string(b) != "saved-in-jupyter\n" || c.Host != filepath.Join(dir, "notebooks/explore.ipynb") {
			t.Errorf("conflict copy %+v holds %q", c, b)
		}
		if e := c.Event(dir); !strings.Contains(e.Plain(), "conflict: notebooks/explore.ipynb changed on the host") {
			t.Errorf("the event says %q", e.Plain())
		}
	}
	// The merge, saved on the host, goes in.
	writeFile(t, dir, "notebooks/explore.ipynb", "merged\n")
	res, err = testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("notebooks/explore.ipynb")}, ledger)
	if err != nil || res.Files != 1 || len(res.Conflicts) != 0 {
		t.Fatalf("the merge: %+v %v", res, err)
	}
	if got := sh(t, id, "cat /app/notebooks/explore.ipynb"); got != "merged" {
		t.Errorf("after the merge: %q", got)
	}
}

// A chmod reaches the container (the content is the same, the permissions
// are not); a touch, which the kernel reports the same way, sends nothing.
func TestSyncPermissionOnlyChange(t *testing.T) {
	requireEngine(t)
	eachAgent(t, syncPermissionOnlyChange)
}

func syncPermissionOnlyChange(t *testing.T, id string) {
	ctx := context.Background()
	dir := t.TempDir()
	ledger := model.NewLedger()
	it := watcher.SyncItem{Change: watcher.Change{Path: "run.sh"}, Dest: "/app/run.sh"}
	writeFile(t, dir, "run.sh", "#!/bin/sh\necho hi\n")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{it}, ledger); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	it.Op = watcher.ModeChanged
	res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{it}, ledger)
	if err != nil || res.Files != 1 {
		t.Fatalf("chmod: %+v %v", res, err)
	}
	if got := sh(t, id, "stat -c %a /app/run.sh"); got != "755" {
		t.Errorf("mode in the container %q", got)
	}
	now := time.Now()
	if err := os.Chtimes(filepath.Join(dir, "run.sh"), now, now); err != nil {
		t.Fatal(err)
	}
	if res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{it}, ledger); err != nil || res.Files != 0 {
		t.Errorf("touch: %+v %v", res, err)
	}
}

// Where the agent takes bulk batches (the Python agent of the Jupyter
// image), a batch of any size goes through it, spooled through a temporary
// file, in one upload; an existing file is overwritten in place, and a
// link the container put where a file goes is replaced, never followed.
func TestSyncLargeBatchThroughTheBulkAgent(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	if err := testimage.EnsureJupyter(ctx, testEngine.api, testLog{}); err != nil {
		t.Fatal(err)
	}
	id := runSleeping(t, testimage.Jupyter)
	dir := t.TempDir()
	items := thousandFiles(t, dir)
	if _, err := testEngine.Sync(ctx, id, dir, items[:1], nil); err != nil {
		t.Fatal(err)
	}
	a := testEngine.AgentFor(ctx, id)
	if a == nil || !a.bulk {
		t.Fatalf("agent %+v: want one for bulk batches", a)
	}
	sh(t, id, "echo secret > /tmp/target && rm /app/pkg7/m537.py && ln -s /tmp/target /app/pkg7/m537.py")
	writeFile(t, dir, "pkg0/m0.py", "v = changed\n")
	before := testEngine.uploads.Load()
	res, err := testEngine.Sync(ctx, id, dir, items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := testEngine.uploads.Load() - before; n != 1 || res.Files != 1000 {
		t.Errorf("%d uploads, %d files; want 1 upload of 1000", n, res.Files)
	}
	if a2 := testEngine.AgentFor(ctx, id); a2 != a {
		t.Error("the agent failed and was replaced: the batch went through the fallback")
	}
	got := sh(t, id, "find /app -type f | wc -l; cat /app/pkg7/m537.py /app/pkg0/m0.py /tmp/target; test -L /app/pkg7/m537.py && echo link")
	if got != "1000\nv = 537\nv = changed\nsecret" {
		t.Errorf("in the container: %q", got)
	}
}

// After a conflict both versions are kept, and a save on either side
// resolves it: the host's goes into the container (above), or the
// container's comes home, since the host still holds its own side. Until
// then, a comparison of the two leaves both copies as they are.
func TestAConflictResolvedFromTheContainer(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	ledger := model.NewLedger()
	writeFile(t, dir, "nb.ipynb", "v1\n")
	if _, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("nb.ipynb", watcher.Changed)}, ledger); err != nil {
		t.Fatal(err)
	}
	sh(t, id, "echo saved-in-jupyter > /app/nb.ipynb")
	writeFile(t, dir, "nb.ipynb", "from git\n")
	res, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{item("nb.ipynb", watcher.Changed)}, ledger)
	if err != nil || len(res.Conflicts) != 1 {
		t.Fatalf("the conflict: %+v %v", res, err)
	}
	if got := ledger.Conflicted(); len(got) != 1 || got[0] != "/app/nb.ipynb" {
		t.Fatalf("unresolved %v", got)
	}
	// tfdev's folder in the project stays out of git.
	if b, err := os.ReadFile(filepath.Join(dir, ".tfdev", ".gitignore")); err != nil || !strings.HasSuffix(string(b), "\n*\n") {
		t.Errorf(".tfdev/.gitignore: %q %v", b, err)
	}
	rules := watcher.Rules{Steps: []watcher.Rule{*appRule}}
	// A comparison while neither side saved: both stay.
	w, err := testEngine.PlanReconcile(ctx, id, dir, rules, nil, ledger)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range w.Push {
		if it.Path == "nb.ipynb" {
			t.Errorf("an unresolved conflict is sent: %+v", w)
		}
	}
	if len(w.Pull) != 0 {
		t.Errorf("an unresolved conflict is brought home: %+v", w)
	}
	// Saved again in the container: it comes home over the host's side.
	sh(t, id, "echo merged-in-jupyter > /app/nb.ipynb")
	sums := map[string]string{"/app/nb.ipynb": sha("merged-in-jupyter\n")}
	rs, err := testEngine.PullHome(ctx, id, dir, rules, sums, ledger, nil)
	if err != nil || len(rs) != 1 || rs[0].Conflict {
		t.Fatalf("the container's save: %+v %v", rs, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "nb.ipynb")); string(b) != "merged-in-jupyter\n" {
		t.Errorf("the host's file: %q", b)
	}
	if got := ledger.Conflicted(); len(got) != 0 {
		t.Errorf("still unresolved: %v", got)
	}
}

// The Python agent remembers what it wrote, so the guard reads a file
// again only when it changed since; a change behind its back is still
// seen, even one of the same size with its time set back (ctime moves):
// a conflict, never an overwrite.
func TestSyncGuardSeesAChangeBehindTheAgentsBack(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	c := runJupyter(t, model.RunOptions{})
	dir := t.TempDir()
	ledger := model.NewLedger()
	writeFile(t, dir, "model.py", "v = 1\n")
	if _, err := testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("model.py", watcher.Changed)}, ledger); err != nil {
		t.Fatal(err)
	}
	// Unchanged since the agent wrote it: the host's next save goes in.
	writeFile(t, dir, "model.py", "v = 2\n")
	if res, err := testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("model.py", watcher.Changed)}, ledger); err != nil || res.Files != 1 || len(res.Conflicts) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	sh(t, c.ID, `t=$(stat -c %Y /app/model.py); printf 'v = 9\n' > /app/model.py; touch -d @$t /app/model.py`)
	writeFile(t, dir, "model.py", "v = 3\n")
	res, err := testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("model.py", watcher.Changed)}, ledger)
	if err != nil || res.Files != 0 || len(res.Conflicts) != 1 {
		t.Fatalf("a change behind the agent's back: %+v %v", res, err)
	}
	if got := sh(t, c.ID, "cat /app/model.py"); got != "v = 9" {
		t.Errorf("overwritten: %q", got)
	}
}

// The Python agent takes the tar streamed in chunks, nothing spooled
// first: a big file (streamed through by the reading thread) and many small
// ones (written side by side) arrive whole.
func TestSyncStreamsThroughThePythonAgent(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	c := runJupyter(t, model.RunOptions{})
	dir := t.TempDir()
	big := make([]byte, 3<<20+12345)
	rand.Read(big)
	writeFile(t, dir, "data/big.bin", string(big))
	items := []watcher.SyncItem{item("data/big.bin", watcher.Changed)}
	for i := 0; i < 300; i++ {
		p := fmt.Sprintf("pkg%d/m%d.py", i%7, i)
		writeFile(t, dir, p, fmt.Sprintf("v = %d\n", i))
		items = append(items, item(p, watcher.Changed))
	}
	if a := testEngine.AgentFor(ctx, c.ID); a == nil || a.kind != "python" || !a.stream {
		t.Fatalf("the agent: %+v", a)
	}
	ledger := model.NewLedger()
	res, err := testEngine.Sync(ctx, c.ID, dir, items, ledger)
	if err != nil || res.Files != 301 || len(res.Errors) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	sum := sha256.Sum256(big)
	got := sh(t, c.ID, "sha256sum /app/data/big.bin | cut -d' ' -f1; cat /app/pkg5/m299.py; find /app/pkg* -type f | wc -l")
	if want := hex.EncodeToString(sum[:]) + "\nv = 299\n300"; got != want {
		t.Errorf("in the container:\n%s\nwant\n%s", got, want)
	}
	// A removal and a write, in the same round.
	os.Remove(filepath.Join(dir, "pkg0/m0.py"))
	writeFile(t, dir, "pkg0/new.py", "v = 'new'\n")
	res, err = testEngine.Sync(ctx, c.ID, dir, []watcher.SyncItem{item("pkg0/m0.py", watcher.Removed), item("pkg0/new.py", watcher.Changed)}, ledger)
	if err != nil || res.Files != 1 || res.Removed != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := sh(t, c.ID, "test -e /app/pkg0/m0.py && echo still there; cat /app/pkg0/new.py"); got != "v = 'new'" {
		t.Errorf("after the removal and the write: %q", got)
	}
}
