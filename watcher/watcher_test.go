package watcher

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testRules(t *testing.T, dir string) Rules {
	t.Helper()
	di, err := LoadDockerIgnore(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tf, err := LoadTriggerFilter(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Rules{
		Dockerfile: "Dockerfile",
		Always:     []string{"Dockerfile", "Dockerfile.dockerignore", ".dockerignore"},
		Steps:      []Rule{{Source: ".", Dest: "/app", DestDir: true, Action: Sync, Line: 2}},
		Ignore:     di,
		Triggers:   tf,
	}
}

func startWatcher(t *testing.T, dir string) *Watcher {
	t.Helper()
	w, err := New(Options{Dir: dir, Rules: testRules(t, dir), Reload: func() (Loaded, error) {
		di, err := LoadDockerIgnore(dir, "Dockerfile")
		if err != nil {
			return nil, err
		}
		r := testRules(t, dir)
		r.Ignore = di
		return r, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// until collects batches until one holds the marker path, or fails after a
// generous deadline (a deadline on the wait, not a sleep).
func until(t *testing.T, w *Watcher, marker string) []Batch {
	t.Helper()
	var got []Batch
	deadline := time.After(20 * time.Second)
	for {
		select {
		case b, ok := <-w.Batches():
			if !ok {
				t.Fatalf("batches closed before %s", marker)
			}
			got = append(got, b)
			for _, c := range b.Changes {
				if c.Path == marker {
					return got
				}
			}
		case <-deadline:
			t.Fatalf("no batch with %s; got %+v", marker, got)
		}
	}
}

// changes flattens batches into "path:op" strings, last op per path.
func changes(bs []Batch) map[string]Op {
	m := map[string]Op{}
	for _, b := range bs {
		for _, c := range b.Changes {
			m[c.Path] = c.Op
		}
	}
	return m
}

func TestWatchesOnlyWhatCanMatter(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{
		"Dockerfile", "train.py", "src/pkg/deep/x.py", "data/raw/a.csv", "data/b/c/d.csv",
		".git/objects/ab/cd", "checkpoints/run1/ckpt", "src/__pycache__/m.pyc", "notebooks/a.ipynb",
	})
	write(t, dir, ".dockerignore", "data\n**/__pycache__\n")
	write(t, dir, ".tfdevignore", "checkpoints/\n")
	w := startWatcher(t, dir)
	want := []string{"", "notebooks", "src", "src/pkg", "src/pkg/deep"}
	if got := w.Watched(); !slices.Equal(got, want) {
		t.Errorf("watched %q, want %q", got, want)
	}
}

func TestBatchesWritesCreatesAndDeletes(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "train.py", "src/old.py"})
	write(t, dir, ".dockerignore", "data\n")
	w := startWatcher(t, dir)

	write(t, dir, "train.py", "print(2)")
	write(t, dir, "src/new.py", "x = 1")
	if err := os.Remove(filepath.Join(dir, "src/old.py")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "data/ignored.csv", "1,2") // no watch: never reported
	write(t, dir, "marker", "")
	got := changes(until(t, w, "marker"))
	for p, op := range map[string]Op{"train.py": Changed, "src/new.py": Changed, "src/old.py": Removed} {
		if g, ok := got[p]; !ok || g != op {
			t.Errorf("%s: got %v (present %v), want %v", p, g, ok, op)
		}
	}
	if _, ok := got["data/ignored.csv"]; ok {
		t.Error("a file in an ignored directory was reported")
	}
}

func TestNewDirectoryRace(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile"})
	w := startWatcher(t, dir)
	// mkdir -p a/b/c && touch a/b/c/x.py: the file exists before any watch
	// on a/b/c can be in place.
	if err := os.MkdirAll(filepath.Join(dir, "a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "a/b/c/x.py", "")
	got := changes(until(t, w, "a/b/c/x.py"))
	if _, ok := got["a/b/c/x.py"]; !ok {
		t.Fatal("x.py not reported")
	}
	// Now the new directory is watched.
	write(t, dir, "a/b/c/y.py", "")
	until(t, w, "a/b/c/y.py")
	if !slices.Contains(w.Watched(), "a/b/c") {
		t.Errorf("a/b/c not watched: %q", w.Watched())
	}
}

func TestRenamedDirectory(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "src/pkg/a.py", "src/pkg/sub/b.py"})
	w := startWatcher(t, dir)
	if err := os.Rename(filepath.Join(dir, "src/pkg"), filepath.Join(dir, "src/lib")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "marker", "")
	got := changes(until(t, w, "marker"))
	for p, op := range map[string]Op{
		"src/pkg/a.py": Removed, "src/pkg/sub/b.py": Removed,
		"src/lib/a.py": Changed, "src/lib/sub/b.py": Changed,
	} {
		if g, ok := got[p]; !ok || g != op {
			t.Errorf("%s: got %v (present %v), want %v; all: %v", p, g, ok, op, got)
		}
	}
	// The old name's watches are gone, the new name's are in place.
	watched := w.Watched()
	if slices.Contains(watched, "src/pkg") || !slices.Contains(watched, "src/lib/sub") {
		t.Errorf("watched after rename: %q", watched)
	}
	write(t, dir, "src/lib/sub/c.py", "")
	if got := changes(until(t, w, "src/lib/sub/c.py")); got["src/lib/sub/c.py"] != Changed {
		t.Errorf("write in renamed dir: %v", got)
	}
}

func TestEditorSaveIsOneChange(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "train.py"})
	w := startWatcher(t, dir)
	p := filepath.Join(dir, "train.py")
	// vim with backupcopy=no: probe 4913, swap file, backup by rename, new file.
	write(t, dir, "4913", "")
	os.Remove(filepath.Join(dir, "4913"))
	write(t, dir, ".train.py.swp", "swap")
	if err := os.Rename(p, p+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "train.py", "print('saved')")
	os.Remove(p + "~")
	os.Remove(filepath.Join(dir, ".train.py.swp"))
	// JetBrains safe write: temp file renamed onto the target.
	write(t, dir, "model.py___jb_tmp___", "y")
	if err := os.Rename(filepath.Join(dir, "model.py___jb_tmp___"), filepath.Join(dir, "model.py")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "marker", "")
	got := changes(until(t, w, "marker"))
	delete(got, "marker")
	want := map[string]Op{"train.py": Changed, "model.py": Changed}
	if len(got) != len(want) || got["train.py"] != Changed || got["model.py"] != Changed {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSymlinkReportedNotFollowed(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile"})
	makeTree(t, outside, []string{"secret/x"})
	w := startWatcher(t, dir)
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	bs := until(t, w, "link")
	for _, b := range bs {
		for _, c := range b.Changes {
			if c.Path == "link" && c.IsDir {
				t.Error("symlink reported as a directory")
			}
			if strings.HasPrefix(c.Path, "link/") {
				t.Errorf("followed the link: %s", c.Path)
			}
		}
	}
	if slices.Contains(w.Watched(), "link") {
		t.Error("symlinked directory was watched")
	}
}

func TestDockerignoreChangeReloadsWatches(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "logs/a.log", "data/x.csv", "src/a.py"})
	write(t, dir, ".dockerignore", "data\n")
	w := startWatcher(t, dir)
	if !slices.Contains(w.Watched(), "logs") || slices.Contains(w.Watched(), "data") {
		t.Fatalf("watched before: %q", w.Watched())
	}
	write(t, dir, ".dockerignore", "logs\n")
	bs := until(t, w, ".dockerignore")
	last := bs[len(bs)-1]
	if !last.Reloaded || !last.Rules.Ignore.Excluded("logs/a.log", false) {
		t.Fatalf("batch not reloaded: %+v", last)
	}
	if r, ok := last.Loaded.(Rules); !ok || !r.Ignore.Excluded("logs/a.log", false) {
		t.Errorf("the batch does not carry what Reload returned: %#v", last.Loaded)
	}
	watched := w.Watched()
	if slices.Contains(watched, "logs") || !slices.Contains(watched, "data") {
		t.Errorf("watched after: %q", watched)
	}
	// A bad pattern keeps the old rules and says why.
	write(t, dir, ".dockerignore", "[\n")
	bs = until(t, w, ".dockerignore")
	last = bs[len(bs)-1]
	var pe *PatternError
	if !errors.As(last.ReloadErr, &pe) || last.Reloaded || !last.Rules.Ignore.Excluded("logs/a.log", false) {
		t.Errorf("bad reload: err %v, reloaded %v", last.ReloadErr, last.Reloaded)
	}
}

// fakeNotify lets a test deliver fsnotify events and errors by hand.
type fakeNotify struct {
	events chan FileEvent
	errs   chan error
	added  []string
}

var _ Notify = (*fakeNotify)(nil)

func newFakeNotify() *fakeNotify {
	return &fakeNotify{events: make(chan FileEvent), errs: make(chan error)}
}
func (f *fakeNotify) Add(name string) error    { f.added = append(f.added, name); return nil }
func (f *fakeNotify) Remove(string) error      { return nil }
func (f *fakeNotify) Events() <-chan FileEvent { return f.events }
func (f *fakeNotify) Errors() <-chan error     { return f.errs }
func (f *fakeNotify) Close() error             { return nil }

func TestOverflowRequestsRescan(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile"})
	fn := newFakeNotify()
	w, err := New(Options{Dir: dir, Rules: testRules(t, dir), Notify: fn})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fn.errs <- ErrOverflow
	select {
	case b := <-w.Batches():
		if len(b.Rescan) != 1 || !strings.Contains(b.Rescan[0], "overflow") {
			t.Errorf("batch %+v", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no rescan batch")
	}
}

func TestInotifyLimitErrorSaysWhatToDo(t *testing.T) {
	err := limitError(syscall.ENOSPC, "/proj/src")
	var le *LimitError
	if !errors.As(err, &le) || le.Setting != "fs.inotify.max_user_watches" {
		t.Fatalf("err = %v", err)
	}
	msg := err.Error()
	for _, s := range []string{"max_user_watches is ", "sudo sysctl fs.inotify.max_user_watches=", "/proj/src", le.Current} {
		if !strings.Contains(msg, s) {
			t.Errorf("%q lacks %q", msg, s)
		}
	}
	if le.Current == "unknown" {
		t.Errorf("current value not read from /proc: %q", msg)
	}
	if !errors.As(limitError(syscall.EMFILE, ""), &le) || le.Setting != "fs.inotify.max_user_instances" {
		t.Errorf("EMFILE: %v", le)
	}
	if errors.As(limitError(syscall.EACCES, "/x"), &le) {
		t.Error("EACCES is not a limit")
	}
}

func TestInotifyLimitAtStartIsAnError(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "a/x", "b/y"})
	_, err := New(Options{Dir: dir, Rules: testRules(t, dir), Notify: &limitedNotify{fakeNotify: newFakeNotify(), left: 2}})
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LimitError", err)
	}
}

// limitedNotify refuses watches past a count, as the kernel does.
type limitedNotify struct {
	*fakeNotify
	left int
}

func (l *limitedNotify) Add(name string) error {
	if l.left == 0 {
		return syscall.ENOSPC
	}
	l.left--
	return nil
}

// A chmod alone is a ModeChanged change; a write and a chmod together are
// a write.
func TestChmodIsAModeChange(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"Dockerfile", "run.sh", "edit.py"})
	w := startWatcher(t, dir)
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "edit.py", "x = 1\n")
	if err := os.Chmod(filepath.Join(dir, "edit.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	ops := map[string]Op{}
	for _, b := range until(t, w, "edit.py") {
		for _, c := range b.Changes {
			ops[c.Path] = c.Op
		}
	}
	for len(ops) < 2 {
		for _, b := range until(t, w, "run.sh") {
			for _, c := range b.Changes {
				ops[c.Path] = c.Op
			}
		}
	}
	if ops["run.sh"] != ModeChanged || ops["edit.py"] != Changed {
		t.Errorf("ops %v", ops)
	}
}
