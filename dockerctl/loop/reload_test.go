package loop

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
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
	files := ReloadFiles([]watcher.SyncItem{
		item("model.py", "/app/model.py", watcher.Changed),
		item("old.py", "/app/old.py", watcher.Removed),
		item("fast.so", "/app/fast.so", watcher.Changed),
		item("notes.md", "/app/notes.md", watcher.Changed),
		item("x.py", "/elsewhere/x.py", watcher.Changed),
	}, []string{"/app"})
	if want := []string{"/app/fast.so", "/app/model.py", "/app/old.py"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files %q, want %q", files, want)
	}
}

// A sync of module files tells the kernels (a Reload after the sync
// event); their answers are said: what each reloaded, each module it
// could not with why and what to do, and a kernel that could not be
// asked. A kernel that reloaded nothing says nothing; an answer from a
// container that no longer serves is dropped. With autoreload off,
// nothing is told.
func TestReduceTellsTheKernels(t *testing.T) {
	for _, on := range []bool{true, false} {
		l := newLoop(t, Config{Autoreload: on})
		l.feed(Adopted{}, Built{Res: built("img1"), Project: l.p}, Started{C: ctr("c1", "img1"), How: "new"})
		l.feed(l.batch("train.py"))
		sync, ok := l.out[0].(Sync)
		if !ok {
			t.Fatalf("not a sync: %s", l.kinds())
		}
		if on != (len(sync.Files) == 1 && sync.Files[0] == "/tf/train.py") {
			t.Errorf("autoreload %v: files %v", on, sync.Files)
		}
		l.feed(Synced{Res: model.SyncResult{Files: 1}, Paths: []string{"train.py"}, Modules: sync.Modules, Files: sync.Files})
		if !on {
			l.want("sync")
			continue
		}
		l.want("sync Reload")
		if r := l.out[1].(Reload); r.C.ID != "c1" || !reflect.DeepEqual(r.Files, sync.Files) {
			t.Errorf("reload %+v", r)
		}
		c1 := l.s.cur
		l.feed(KernelReloaded{C: c1, KernelReload: model.KernelReload{Kernel: "k1", Reloaded: []string{"train"}}}).want("kernel.reload")
		l.feed(KernelReloaded{C: c1, KernelReload: model.KernelReload{Kernel: "k2"}}).want("")
		l.feed(KernelReloaded{C: c1, KernelReload: model.KernelReload{Kernel: "k3", Failed: []model.ReloadFailure{{Module: "train", Why: "SyntaxError: invalid syntax (train.py, line 2)", Fix: "fix it and save again"}}}}).
			want("kernel.reload_failed")
		if e := l.event(event.ReloadFailed); e.Kernel != "k3" || e.Module != "train" || !e.IsError() ||
			e.Text() != "kernel k3 could not reload train: SyntaxError: invalid syntax (train.py, line 2); fix it and save again" {
			t.Errorf("%+v: %s", e, e.Text())
		}
		l.feed(KernelReloaded{C: c1, KernelReload: model.KernelReload{Kernel: "k4", Err: errors.New("EOF")}}).want("kernel.reload_failed")
		l.feed(KernelReloaded{C: ctr("c0", "img0"), KernelReload: model.KernelReload{Kernel: "k1", Reloaded: []string{"train"}}}).want("")
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
