package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

func TestReconcileSendsOnlyWhatDiffers(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM x\nCOPY . /app\n")
	writeFile(t, dir, ".dockerignore", "data\n")
	for _, p := range []string{"a.py", "b.py", "pkg/c.py", "pkg/d.py"} {
		writeFile(t, dir, p, p)
	}
	writeFile(t, dir, "data/big.csv", "1,2")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ledger := model.NewLedger()
	first, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil {
		t.Fatal(err)
	}
	// Dockerfile, .dockerignore (rebuild inputs) are not synced; data is excluded.
	if first.Files != 4 {
		t.Errorf("first reconcile sent %d files, want 4", first.Files)
	}
	// Missed events while tfdev was away: one edit, one new file.
	writeFile(t, dir, "b.py", "b changed")
	writeFile(t, dir, "pkg/new.py", "new")
	second, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if second.Files != 2 {
		t.Errorf("second reconcile sent %d files, want 2", second.Files)
	}
	if got := sh(t, id, "cat /app/b.py /app/pkg/new.py"); got != "b changednew" {
		t.Errorf("contents %q", got)
	}
	third, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil || third.Files != 0 {
		t.Errorf("nothing changed, yet %d files sent (%v)", third.Files, err)
	}
	// Changed in the container only: it comes home, nothing is sent.
	sh(t, id, "echo drift > /app/a.py")
	r, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil || r.Files != 0 || len(r.Pulled) != 1 || r.Pulled[0].From != "/app/a.py" || len(r.Conflicts) != 0 {
		t.Errorf("drift: %+v %v", r, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.py")); string(b) != "drift\n" {
		t.Errorf("a.py on the host after the drift reconcile: %q", b)
	}
	if got := sh(t, id, "cat /app/a.py"); got != "drift" {
		t.Errorf("a.py in the container after the drift reconcile: %q", got)
	}
	// Changed on both sides: both kept, the container's copy in the
	// conflicts folder, and nothing sent over it.
	sh(t, id, "echo container > /app/pkg/c.py")
	writeFile(t, dir, "pkg/c.py", "host")
	r, err = testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil || r.Files != 0 || len(r.Conflicts) != 1 {
		t.Fatalf("both changed: %+v %v", r, err)
	}
	c := r.Conflicts[0]
	if b, _ := os.ReadFile(c.To); c.From != "/app/pkg/c.py" || !strings.Contains(c.To, ConflictDir) || string(b) != "container\n" {
		t.Errorf("conflict %+v holds %q", c, b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pkg/c.py")); string(b) != "host" {
		t.Errorf("the host's pkg/c.py was overwritten: %q", b)
	}
	if got := sh(t, id, "cat /app/pkg/c.py"); got != "container" {
		t.Errorf("the container's pkg/c.py was overwritten: %q", got)
	}
	// The user merges and saves on the host: that goes in.
	writeFile(t, dir, "pkg/c.py", "merged")
	if r, err := testEngine.Sync(ctx, id, dir, []watcher.SyncItem{{Change: watcher.Change{Path: "pkg/c.py"}, Dest: "/app/pkg/c.py"}}, ledger); err != nil || r.Files != 1 || len(r.Conflicts) != 0 {
		t.Errorf("the merge: %+v %v", r, err)
	}
	if got := sh(t, id, "cat /app/pkg/c.py"); got != "merged" {
		t.Errorf("after the merge: %q", got)
	}
}

// A container built from the project: files the host deleted while tfdev
// was away are removed; files made in the container are kept.
func TestReconcileRemovesWhatTheHostDeleted(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "ARG BASE\nFROM ${BASE}\nCOPY . /app\nCMD [\"sleep\", \"3600\"]\n")
	writeFile(t, dir, "keep.py", "k")
	writeFile(t, dir, "gone.py", "g")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tag := "tfdev-test/reconcile:" + nonce(t)
	removeImageOnCleanup(t, tag)
	res, err := testEngine.Build(ctx, model.BuildOptions{Project: p, Tags: []string{tag}, BuildArgs: map[string]string{"BASE": testimage.Busybox}})
	if err != nil {
		t.Fatal(err)
	}
	removeImageOnCleanup(t, res.ImageID)
	if !strings.Contains(strings.Join(res.Context, " "), "gone.py") {
		t.Fatalf("build context %q", res.Context)
	}
	c, err := testEngine.Create(ctx, model.RunOptions{Dir: dir, Image: res.ImageID, HostPort: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer testEngine.Remove(ctx, c.ID)
	if err := testEngine.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	sh(t, c.ID, "echo mine > /app/made-in-container.txt")
	os.Remove(filepath.Join(dir, "gone.py"))
	r, err := testEngine.Reconcile(ctx, c.ID, dir, p.Rules, res.Context, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Removed != 1 || r.Files != 0 {
		t.Errorf("result %+v", r)
	}
	if got := sh(t, c.ID, "ls /app | sort | tr '\\n' ' '"); got != "Dockerfile keep.py made-in-container.txt" {
		t.Errorf("container has %q", got)
	}
}

// A file that came into the container by a sync, not with its image, and
// that the host removed while tfdev was away (a branch switch cut short):
// the ledger knows both sides agreed on it, so it is removed too. One the
// container changed since is kept.
func TestReconcileRemovesWhatASyncBroughtAndTheHostDeleted(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	id := runBusybox(t)
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM x\nCOPY . /app\n")
	writeFile(t, dir, "pkg/synced.py", "s")
	writeFile(t, dir, "pkg/edited.py", "e")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ledger := model.NewLedger()
	if r, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger); err != nil || r.Files != 2 {
		t.Fatalf("the first reconcile: %+v %v", r, err)
	}
	os.Remove(filepath.Join(dir, "pkg/synced.py"))
	os.Remove(filepath.Join(dir, "pkg/edited.py"))
	sh(t, id, "echo mine > /app/pkg/edited.py")
	r, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger)
	if err != nil || r.Removed != 1 {
		t.Errorf("result %+v %v", r, err)
	}
	if got := sh(t, id, "ls /app/pkg"); got != "edited.py" {
		t.Errorf("/app/pkg holds %q", got)
	}
}
