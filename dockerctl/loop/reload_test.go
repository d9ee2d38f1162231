package loop

import (
	"reflect"
	"testing"

	"github.com/tfdev-dev/tfdev/watcher"
)

func TestReloadNote(t *testing.T) {
	item := func(p, dest string, op watcher.Op) watcher.SyncItem {
		return watcher.SyncItem{Change: watcher.Change{Path: p, Op: op}, Dest: dest}
	}
	reload, restart := ReloadNote([]watcher.SyncItem{
		item("model.py", "/app/model.py", watcher.Changed),
		item("data/loader.py", "/app/data/loader.py", watcher.Changed),
		item("data/__init__.py", "/app/data/__init__.py", watcher.Changed),
		item("old.py", "/app/old.py", watcher.Removed),
		item("fast.cpython-311-x86_64-linux-gnu.so", "/app/fast.cpython-311-x86_64-linux-gnu.so", watcher.Changed),
		item("notes.md", "/app/notes.md", watcher.Changed),
		item("x.py", "/elsewhere/x.py", watcher.Changed),
	}, []string{"/app"})
	if want := []string{"data", "data.loader", "model"}; !reflect.DeepEqual(reload, want) {
		t.Errorf("reload %q, want %q", reload, want)
	}
	if want := []string{"fast (a compiled extension)", "old (removed)"}; !reflect.DeepEqual(restart, want) {
		t.Errorf("restart %q, want %q", restart, want)
	}
}

func TestKernelPathRoots(t *testing.T) {
	rules := watcher.Rules{Steps: []watcher.Rule{
		{Source: ".", Dest: "/app", DestDir: true, Action: watcher.Sync},
		{Source: "notebooks", Dest: "/tf/notebooks", DestDir: true, Action: watcher.Sync},
		{Source: "setup.cfg", Dest: "/srv/setup.cfg", Action: watcher.Sync},
		{Source: "requirements.txt", Dest: "/tmp/requirements.txt", Action: watcher.Rebuild},
	}}
	if got, want := KernelPathRoots(rules), []string{"/app", "/srv", "/tf/notebooks"}; !reflect.DeepEqual(got, want) {
		t.Errorf("roots %q, want %q", got, want)
	}
}
