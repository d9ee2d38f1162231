package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine/kernel"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The corpus of the reload tests: small modules of each kind a notebook
// imports, first as they are, then as a save changes them.
var reloadCorpus = []struct{ name, before, after string }{
	{"funcs", "def f():\n    return 1\n", "def f():\n    return 2\n"},
	{"shapes", "class Shape:\n    def area(self):\n        return 1\n", "class Shape:\n    def area(self):\n        return 2\n    def sides(self):\n        return 4\n"},
	{"consts", "LIMIT = 10\n", "LIMIT = 20\n"},
	{"points", "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass P:\n    x: int\n", "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass P:\n    x: int\n    y: int = 0\n"},
	{"colors", "from enum import Enum\nclass Color(Enum):\n    RED = 1\n", "from enum import Enum\nclass Color(Enum):\n    RED = 1\n    GREEN = 2\n"},
	{"broken", "def g():\n    return 1\n", "def g(:\n    return 2\n"},
	{"raises", "X = 1\n", "X = 2\nraise RuntimeError('boom at import')\n"},
	{"kept", "STATE = []\n", "STATE = ['reset']\n"},
}

func writeCorpus(t *testing.T, id string, after bool) []string {
	t.Helper()
	var files []string
	for _, m := range reloadCorpus {
		body := m.before
		if after {
			body = m.after
		}
		p := "/tf/lib/" + m.name + ".py"
		if _, err := testEngine.ExecOK(context.Background(), id, "sh", "-c", `mkdir -p /tf/lib && printf '%s' "$1" > "$2"`, "sh", body, p); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

// After a sync, each kernel reloads exactly the modules it imported from
// the files that changed, with live instances seeing new methods: at its
// next cell when the cell comes first (the signal file), or when tfdev's
// message comes first. What cannot be reloaded (a syntax error, an
// exception at import, a frozen dataclass's fields, an Enum's members, a
// module the user asked to keep) is reported to tfdev with why and what to
// do, once; a kernel that imported none of them does nothing. A later
// save that loads cleanly reloads it.
func TestReloadKernels(t *testing.T) {
	ctx := context.Background()
	c := readyJupyter(t, model.RunOptions{})
	paths := writeCorpus(t, c.ID, false)
	if _, _, err := testEngine.PlaceAutoreload(ctx, c.ID, []string{"/tf/lib"}); err != nil {
		t.Fatal(err)
	}
	kc := testEngine.kernelClient(c)
	user, err := kc.Start(ctx, "python3")
	if err != nil {
		t.Fatal(err)
	}
	idle, err := kc.Start(ctx, "python3")
	if err != nil {
		t.Fatal(err)
	}
	setup := "import funcs, shapes, consts, points, colors, broken, raises, kept\ns = shapes.Shape()\np = points.P(1)\n%aimport -kept\n"
	if out, err := kc.RunCell(ctx, user, setup); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if _, err := kc.RunCell(ctx, idle, "x = 1"); err != nil {
		t.Fatal(err)
	}
	writeCorpus(t, c.ID, true)
	files := map[string]int64{}
	for _, p := range paths {
		files[p] = 1
	}
	if err := testEngine.Signal(ctx, c.ID, files); err != nil {
		t.Fatal(err)
	}
	// The user's next cell comes before tfdev's message: it sees the edits.
	if out, err := kc.RunCell(ctx, user, "print(funcs.f(), s.area(), s.sides(), consts.LIMIT, broken.g(), kept.STATE)"); err != nil || strings.TrimSpace(out) != "2 2 4 20 1 []" {
		t.Errorf("the next cell: %q %v", out, err)
	}
	got := reloadAll(t, c, files)
	if r := got[idle]; len(r.Reloaded)+len(r.Failed) != 0 || r.Err != nil {
		t.Errorf("the kernel that imported nothing: %+v", r)
	}
	r := got[user]
	if r.Err != nil || !slices.Equal(r.Reloaded, []string{"consts", "funcs", "shapes"}) {
		t.Errorf("reloaded %v (%v), want consts, funcs, shapes", r.Reloaded, r.Err)
	}
	want := map[string][2]string{
		"broken": {"SyntaxError: ", "fix it and save again"},
		"raises": {"RuntimeError at import: boom at import", "fix it and save again"},
		"points": {"frozen dataclass P's fields changed (x -> x, y)", "restart this kernel"},
		"colors": {"Enum Color's members changed (RED -> RED, GREEN)", "restart this kernel"},
		"kept":   {"you excluded it from reloading (%aimport -kept)", "%aimport kept"},
	}
	for _, f := range r.Failed {
		w, ok := want[f.Module]
		if !ok || !strings.Contains(f.Why, w[0]) || !strings.Contains(f.Fix, w[1]) {
			t.Errorf("failed %s: %q, fix %q; want %q, %q", f.Module, f.Why, f.Fix, w[0], w[1])
		}
		delete(want, f.Module)
	}
	if len(want) != 0 {
		t.Errorf("not reported: %v", want)
	}
	// Told once: the same news again reloads and reports nothing.
	if r := reloadAll(t, c, files)[user]; len(r.Reloaded)+len(r.Failed) != 0 {
		t.Errorf("the same change twice: %+v", r)
	}
	// The syntax error fixed: tfdev's message alone (no signal) reloads it.
	if _, err := testEngine.ExecOK(ctx, c.ID, "sh", "-c", `printf 'def g():\n    return 3\n' > /tf/lib/broken.py`); err != nil {
		t.Fatal(err)
	}
	files["/tf/lib/broken.py"] = 2
	r = reloadAll(t, c, files)[user]
	if !slices.Equal(r.Reloaded, []string{"broken"}) || len(r.Failed) != 0 {
		t.Errorf("after the fix: %+v", r)
	}
	if out, err := kc.RunCell(ctx, user, "print(broken.g())"); err != nil || strings.TrimSpace(out) != "3" {
		t.Errorf("after the fix: %q %v", out, err)
	}
}

func reloadAll(t *testing.T, c *model.Container, files map[string]int64) map[string]model.KernelReload {
	t.Helper()
	var mu sync.Mutex
	got := map[string]model.KernelReload{}
	err := testEngine.ReloadKernels(context.Background(), c, files, func(r model.KernelReload) {
		mu.Lock()
		defer mu.Unlock()
		sort.Strings(r.Reloaded)
		got[r.Kernel] = r
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// hookCost prints what the hooks IPython runs before and after each cell
// cost, in microseconds per cell (a median of runs of 200).
const hookCost = `import time, statistics
from IPython.core.interactiveshell import ExecutionInfo
_ip, _info, _runs = get_ipython(), ExecutionInfo("pass", False, True, False, None), []
for _ in range(20):
    _t = time.perf_counter()
    for _ in range(200):
        _ip.events.trigger("pre_run_cell", _info)
        _ip.events.trigger("post_execute")
    _runs.append((time.perf_counter() - _t) / 200 * 1e6)
print(round(statistics.median(_runs), 1))`

// BenchmarkCellCost: what a cell costs a kernel that imported 1,000
// modules, with nothing changed: without tfdev's startup file (off), with
// it (push: one stat before each cell), and with IPython's own
// %autoreload 2, which checks every module before each cell (scan). Cells
// run as the notebook page sends them, over the kernel's channels.
func BenchmarkCellCost(b *testing.B) {
	requireEngine(b)
	needJupyter(b)
	ctx := context.Background()
	const modules = 1000
	gen := fmt.Sprintf(`mkdir -p /tf/mods && cd /tf/mods && i=0; while [ $i -lt %d ]; do printf 'def f():\n    return %%d\n' $i > m$i.py; i=$((i+1)); done`, modules)
	imports := fmt.Sprintf("import sys\nsys.path.insert(0, '/tf/mods')\nfor i in range(%d):\n    __import__('m%%d' %% i)\n", modules)
	kernelIn := func(c *model.Container, setup string) *kernel.Conn {
		if _, err := testEngine.WaitJupyter(ctx, c, 0); err != nil {
			b.Fatal(err)
		}
		kc := testEngine.kernelClient(c)
		id, err := kc.Start(ctx, "python3")
		if err != nil {
			b.Fatal(err)
		}
		conn, err := kc.Connect(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		if out, err := conn.RunCell(ctx, imports+setup); err != nil {
			b.Fatalf("%v %s", err, out)
		}
		return conn
	}
	plain, tfdev := runJupyter(b, model.RunOptions{}), runJupyter(b, model.RunOptions{})
	for _, c := range []*model.Container{plain, tfdev} {
		sh(b, c.ID, gen)
	}
	if _, _, err := testEngine.PlaceAutoreload(ctx, tfdev.ID, []string{"/tf"}); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name  string
		c     *model.Container
		setup string
	}{{"off", plain, ""}, {"push", tfdev, ""}, {"scan", tfdev, "%autoreload 2\n"}} {
		b.Run(mode.name, func(b *testing.B) {
			conn := kernelIn(mode.c, mode.setup)
			var took []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := conn.RunCell(ctx, "pass"); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.ReportMetric(float64(median(took).Microseconds())/1000, "cell-ms")
			// The same, measured in the kernel: what the hooks IPython runs
			// around every cell cost, apart from the round trip's noise.
			out, err := conn.RunCell(ctx, hookCost)
			var us float64
			if _, serr := fmt.Sscan(strings.TrimSpace(out), &us); err != nil || serr != nil {
				b.Fatalf("%q %v", out, err)
			}
			b.ReportMetric(us, "hooks-us")
		})
	}
}
