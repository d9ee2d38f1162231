package dockerctl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
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
	ledger := NewLedger()
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
	// Changed in the container behind the ledger's back: the host's copy
	// goes in although the ledger remembers sending it.
	sh(t, id, "echo drift > /app/a.py")
	if r, err := testEngine.Reconcile(ctx, id, dir, p.Rules, nil, ledger); err != nil || r.Files != 1 {
		t.Errorf("drift: %+v %v", r, err)
	}
	if got := sh(t, id, "cat /app/a.py"); got != "a.py" {
		t.Errorf("after the drift reconcile: %q", got)
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
	res, err := testEngine.Build(ctx, BuildOptions{Project: p, Tags: []string{tag}, BuildArgs: map[string]string{"BASE": testimage.Busybox}})
	if err != nil {
		t.Fatal(err)
	}
	removeImageOnCleanup(t, res.ImageID)
	if !strings.Contains(strings.Join(res.Context, " "), "gone.py") {
		t.Fatalf("build context %q", res.Context)
	}
	c, err := testEngine.Create(ctx, RunOptions{Dir: dir, Image: res.ImageID, HostPort: 0})
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
