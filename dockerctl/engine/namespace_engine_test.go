package engine

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/engine/kernel"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The namespace corpus: a project module whose globals have the names
// notebooks give their own variables (model, VERSION, config, df), and a
// notebook that imports it whole, takes some names with `from nsmod import
// *` and rebinds others to its own values. The edit changes every kind of
// global, adds new ones and deletes one. Nothing tfdev does (a reload, its
// startup file, a live install's report, a carry) may change what a
// notebook's name means or add one.
const (
	nsModBefore = `model = "the module's model 1"
VERSION = (1, 0)
LIMIT = 10
obsolete = "deleted by the edit"
def config():
    return "the module's config 1"
class df:
    rows = 0
def helper():
    return 1
class Trainer:
    def step(self):
        return 1
`
	nsModAfter = `model = "the module's model 2"
VERSION = (1, 1)
LIMIT = 20
added = "a new global"
def config():
    return "the module's config 2"
class df:
    rows = 1
def helper():
    return 2
def added_fn():
    return 0
class Trainer:
    def step(self):
        return 2
class Added:
    pass
`
	// As a page runs them: cells, counted, in the user's namespace.
	nsNotebook = `import nsmod
from nsmod import *
model = "my trained model"
VERSION = "mine"
def config():
    return "my config"
class df:
    rows = 3
t = Trainer()
_seed = 42
data = {"epochs": 3}
`
	// What the names do after the edit: the notebook's own keep their
	// values; a function and a class taken by `from nsmod import *` run the
	// new code (autoreload's complete mode patches them in place); plain
	// values taken that way keep theirs; the module itself has the edit.
	nsBehaviour = `print(model, VERSION, config(), df.rows, helper(), t.step(), LIMIT, obsolete, nsmod.model, nsmod.LIMIT, nsmod.added, hasattr(nsmod, "obsolete"))`
	nsWant      = `my trained model mine my config 3 2 2 10 deleted by the edit the module's model 2 20 a new global False`
)

// nsSnapshot prints, for every name of the kernel's user namespace, its
// type, identity and repr, and what %who lists; IPython's own history
// names (_, __, _i, _i7, _7...), which each counted cell changes, are left
// out. It is an expression run silently, so it adds nothing itself.
const nsSnapshot = `(lambda ip, json, re: print(json.dumps({
    "ns": {k: [type(v).__name__, id(v), repr(v)[:200]] for k, v in list(ip.user_ns.items())
           if not re.fullmatch(r"_{1,3}|_i{1,3}|_i?[0-9]+", k)},
    "who": sorted(ip.run_line_magic("who_ls", "") or []),
})))(get_ipython(), __import__("json"), __import__("re"))`

type nsState struct {
	NS  map[string][3]any `json:"ns"`
	Who []string          `json:"who"`
}

func snapshot(t *testing.T, kc *kernel.Client, id string) nsState {
	t.Helper()
	out, err := kc.Execute(context.Background(), id, nsSnapshot)
	if err != nil {
		t.Fatalf("the namespace of %s: %v %s", id, err, out)
	}
	var s nsState
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("the namespace of %s: %v %q", id, err, out)
	}
	return s
}

// sameNamespace reports every name added, gone or changed (type, identity
// or repr) between before and after.
func sameNamespace(t *testing.T, what string, before, after nsState) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(after.NS)) {
		if _, ok := before.NS[k]; !ok {
			t.Errorf("%s added %s to the namespace: %v", what, k, after.NS[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(before.NS)) {
		a, ok := after.NS[k]
		if !ok {
			t.Errorf("%s removed %s from the namespace", what, k)
		} else if a != before.NS[k] {
			t.Errorf("%s changed %s: %v, was %v", what, k, a, before.NS[k])
		}
	}
	if !slices.Equal(before.Who, after.Who) {
		t.Errorf("%s: %%who reads %v, was %v", what, after.Who, before.Who)
	}
}

func writeNsMod(t *testing.T, id, body string) {
	t.Helper()
	if _, err := testEngine.ExecOK(context.Background(), id, "sh", "-c", `mkdir -p /tf/lib && printf '%s' "$1" > /tf/lib/nsmod.py`, "sh", body); err != nil {
		t.Fatal(err)
	}
}

// nsKernel opens a notebook as the page does and runs the corpus's cells.
func nsKernel(t *testing.T, kc *kernel.Client, path string) string {
	t.Helper()
	ctx := context.Background()
	s, err := kc.OpenNotebook(ctx, path, "python3")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := kc.RunCell(ctx, s.Kernel.ID, "import sys\nsys.path.insert(0, '/tf/lib')\ndel sys"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := kc.RunCell(ctx, s.Kernel.ID, nsNotebook); err != nil {
		t.Fatalf("the notebook: %v %s", err, out)
	}
	return s.Kernel.ID
}

// A reload changes the module objects only: the notebook's names keep
// their values and identities, no name is added (not the module's new
// globals, not tfdev's helpers) and none is removed, whether the reload
// comes at the next cell (the signal file) or by tfdev's message; the
// functions and classes the notebook took from the module run the new
// code. tfdev's startup file and a live install's report add nothing
// either: a kernel with the startup file has the names of one without.
func TestReloadKeepsTheNotebooksNames(t *testing.T) {
	ctx := context.Background()
	c := readyJupyter(t, model.RunOptions{})
	kc := testEngine.kernelClient(c)
	writeNsMod(t, c.ID, nsModBefore)
	bare, err := kc.OpenNotebook(ctx, "bare.ipynb", "python3")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := testEngine.PlaceAutoreload(ctx, c.ID, []string{"/tf/lib"}); err != nil {
		t.Fatal(err)
	}
	fresh, err := kc.OpenNotebook(ctx, "fresh.ipynb", "python3")
	if err != nil {
		t.Fatal(err)
	}
	if b, f := snapshot(t, kc, bare.Kernel.ID), snapshot(t, kc, fresh.Kernel.ID); !slices.Equal(slices.Sorted(maps.Keys(b.NS)), slices.Sorted(maps.Keys(f.NS))) || !slices.Equal(b.Who, f.Who) {
		t.Errorf("tfdev's startup file changed a new kernel's names: %v (%v), without it %v (%v)",
			slices.Sorted(maps.Keys(f.NS)), f.Who, slices.Sorted(maps.Keys(b.NS)), b.Who)
	}

	byCell, byPush := nsKernel(t, kc, "cell.ipynb"), nsKernel(t, kc, "push.ipynb")
	cellBefore, pushBefore := snapshot(t, kc, byCell), snapshot(t, kc, byPush)
	if !slices.Contains(cellBefore.Who, "model") || !slices.Contains(cellBefore.Who, "helper") {
		t.Fatalf("the notebook's names: %v", cellBefore.Who)
	}
	writeNsMod(t, c.ID, nsModAfter)
	files := map[string]int64{"/tf/lib/nsmod.py": 1}
	if err := testEngine.Signal(ctx, c.ID, files); err != nil {
		t.Fatal(err)
	}
	// The next cell reloads (the signal file), before tfdev's message.
	if out, err := kc.RunCell(ctx, byCell, "pass"); err != nil {
		t.Fatalf("the next cell: %v %s", err, out)
	}
	sameNamespace(t, "a reload at the next cell", cellBefore, snapshot(t, kc, byCell))
	// tfdev's message reloads the other.
	got := reloadAll(t, c, files)
	if r := got[byPush]; r.Err != nil || !slices.Equal(r.Reloaded, []string{"nsmod"}) || len(r.Failed) != 0 {
		t.Errorf("the pushed reload: %+v", r)
	}
	sameNamespace(t, "a pushed reload", pushBefore, snapshot(t, kc, byPush))
	for _, id := range []string{byCell, byPush} {
		if out, err := kc.Execute(ctx, id, nsBehaviour); err != nil || strings.TrimSpace(out) != nsWant {
			t.Errorf("after the edit: %q %v\nwant %q", strings.TrimSpace(out), err, nsWant)
		}
	}
	// A live install's report (the modules each kernel took from the
	// changed packages) adds nothing either.
	pushBefore = snapshot(t, kc, byPush)
	if _, err := testEngine.KernelImports(ctx, c, []string{"numpy"}); err != nil {
		t.Fatal(err)
	}
	sameNamespace(t, "a live install's report", pushBefore, snapshot(t, kc, byPush))
}

// A carry adds no names and changes none: the new kernel's namespace is
// the old one's (each name of the same type, with the same value where
// its repr says it), minus what is listed as not carried; the old kernel's
// is as it was.
func TestCarryKeepsTheNotebooksNames(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	dir := t.TempDir()
	from, to := runJupyter(t, model.RunOptions{Dir: dir}), runJupyter(t, model.RunOptions{Dir: dir})
	for _, c := range []*model.Container{from, to} {
		writeNsMod(t, c.ID, nsModBefore)
		if _, err := testEngine.WaitJupyter(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	src, dst := testEngine.kernelClient(from), testEngine.kernelClient(to)
	id := nsKernel(t, src, "train.ipynb")
	before := snapshot(t, src, id)
	ks, err := testEngine.Kernels(ctx, from)
	if err != nil || len(ks) != 1 {
		t.Fatalf("kernels: %+v %v", ks, err)
	}
	carried, err := testEngine.CarryKernel(ctx, from, to, ks[0], model.CarryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sameNamespace(t, "carrying out of the old kernel", before, snapshot(t, src, id))
	after := snapshot(t, dst, carried.New)
	for name := range carried.Left {
		delete(before.NS, name)
		before.Who = slices.DeleteFunc(before.Who, func(n string) bool { return n == name })
	}
	if len(carried.Left) != 0 {
		t.Errorf("not carried: %v", carried.Left)
	}
	// A new kernel has objects of its own: IPython's (exit, get_ipython,
	// its histories, which hold the other kernel's cells) and each carried
	// value are equal, not the same objects.
	history := map[string]bool{"In": true, "Out": true, "_ih": true, "_oh": true, "_dh": true}
	for k, v := range before.NS {
		a, ok := after.NS[k]
		if ok && a[0] == v[0] && (a[2] == v[2] || history[k] || strings.Contains(v[2].(string), " at 0x")) {
			a[1], a[2] = v[1], v[2]
			after.NS[k] = a
		}
	}
	sameNamespace(t, "the carry", before, after)
	if out, err := dst.Execute(ctx, carried.New, "print(model, VERSION, config(), df.rows, helper(), t.step(), _seed, data)"); err != nil ||
		strings.TrimSpace(out) != "my trained model mine my config 3 1 1 42 {'epochs': 3}" {
		t.Errorf("in the new kernel: %q %v", out, err)
	}
}
