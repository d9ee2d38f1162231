package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/engine/kernel"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// The notebook of the carrying tests: plain data, a numpy array, an
// instance of a project class, what the notebook itself defines (a
// function, a lambda, a class and its instance), an imported module, and
// what cannot be carried (an open file, a generator).
const carryNotebook = `
import numpy as np
import proj
data = {"epochs": 3, "names": ["a", "b"], "lr": 0.5}
arr = np.arange(1200).reshape(30, 40) * 2
model = proj.Model(7)
def double(v):
    return 2 * v
halve = lambda v: v / 2
class Point:
    def __init__(self, x): self.x = x
    def norm(self): return abs(self.x)
pt = Point(-4)
log = open("/tmp/notes.txt", "w")
gen = (i for i in range(3))
`

// What the new kernel must answer after a carry, name by name.
var carryChecks = map[string]string{
	"data":   `print(data["epochs"], data["names"], data["lr"])`,
	"arr":    `print(int(arr.sum()), arr.shape)`,
	"model":  `print(type(model).__module__, model.predict(6))`,
	"double": `print(double(21))`,
	"halve":  `print(halve(9))`,
	"Point":  `print(Point(3).norm())`,
	"pt":     `print(pt.norm(), isinstance(pt, Point))`,
	"np":     `print(np.__name__)`,
	"proj":   `print(proj.__name__)`,
}

var carryWant = map[string]string{
	"data": "3 ['a', 'b'] 0.5", "arr": "1438800 (30, 40)", "model": "proj 42", "double": "42", "halve": "4.5",
	"Point": "3", "pt": "4 True", "np": "numpy", "proj": "proj",
}

// twoJupyters runs the old and the new container of a replacement, with
// the project's module in both, and a kernel with a notebook session in
// the old one, holding carryNotebook's variables.
// With shared, both are of one project and share the carry volume.
func twoJupyters(t testing.TB, dill, shared bool) (from, to *model.Container, k model.Kernel) {
	t.Helper()
	requireEngine(t)
	needJupyter(t)
	ctx := context.Background()
	dir := t.TempDir()
	from = runJupyter(t, model.RunOptions{Dir: dir})
	if !shared {
		dir = t.TempDir()
	}
	to = runJupyter(t, model.RunOptions{Dir: dir})
	for _, c := range []*model.Container{from, to} {
		sh(t, c.ID, `printf 'class Model:\n    def __init__(self, w): self.w = w\n    def predict(self, x): return self.w * x\n' > /tf/proj.py`)
		if !dill {
			sh(t, c.ID, `rm -rf /usr/lib/python3/dist-packages/dill`)
		}
		if _, err := testEngine.WaitJupyter(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	kc := testEngine.kernelClient(from)
	id, err := kc.Start(ctx, "python3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.NewSession(ctx, kernel.Session{Path: "train.ipynb", Name: "train.ipynb", Type: "notebook", Kernel: kernel.Kernel{ID: id}}); err != nil {
		t.Fatal(err)
	}
	if out, err := kc.Execute(ctx, id, carryNotebook); err != nil {
		t.Fatalf("the notebook: %v %s", err, out)
	}
	ks, err := testEngine.Kernels(ctx, from)
	if err != nil || len(ks) != 1 || len(ks[0].Sessions) != 1 || ks[0].Sessions[0].Path != "train.ipynb" {
		t.Fatalf("kernels: %+v %v", ks, err)
	}
	return from, to, ks[0]
}

// A kernel's variables come into a kernel of the new container: with dill
// in the image, everything but what cannot be carried (each said with
// why); the notebook's session is tied to the new kernel. The two
// containers of a project share the carry volume: nothing is copied, and
// nothing is left there.
func TestCarryKernel(t *testing.T) {
	from, to, k := twoJupyters(t, true, true)
	ctx := context.Background()
	c, err := testEngine.CarryKernel(ctx, from, to, k, model.CarryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pickler != "dill+pickle" || c.New == "" || c.New == k.ID || c.Bytes == 0 {
		t.Errorf("carried %+v", c)
	}
	for name, check := range carryChecks {
		out, err := testEngine.kernelClient(to).Execute(ctx, c.New, check)
		if err != nil || strings.TrimSpace(out) != carryWant[name] {
			t.Errorf("%s in the new kernel: %q %v, want %q", name, out, err, carryWant[name])
		}
	}
	if !strings.Contains(c.Left["log"], "an open file") || !strings.Contains(c.Left["gen"], "a generator") || len(c.Left) != 2 {
		t.Errorf("not carried: %v", c.Left)
	}
	ss, err := testEngine.kernelClient(to).Sessions(ctx)
	if err != nil || len(ss) != 1 || ss[0].Path != "train.ipynb" || ss[0].Kernel.ID != c.New || c.Sessions[k.Sessions[0].ID] != ss[0].ID {
		t.Errorf("sessions in the new server: %+v %v; mapped %v", ss, err, c.Sessions)
	}
	// The old kernel still runs, with its variables, and the copies are gone.
	if out, err := testEngine.kernelClient(from).Execute(ctx, k.ID, carryChecks["pt"]); err != nil || strings.TrimSpace(out) != "4 True" {
		t.Errorf("the old kernel: %q %v", out, err)
	}
	for _, id := range []string{from.ID, to.ID} {
		if left := sh(t, id, `ls -d /tmp/tfdev-carry-* /tmp/.tfdev-carry/* 2>/dev/null; true`); left != "" {
			t.Errorf("left in %s: %s", id[:12], left)
		}
	}
}

// Without dill, pickle carries data, arrays, project instances and
// modules; what the notebook defines is listed as not carried, with what
// to do, never dropped silently. The size cap leaves big names behind.
// The containers share no volume: the variables are copied through the
// Engine.
func TestCarryKernelWithPickle(t *testing.T) {
	from, to, k := twoJupyters(t, false, false)
	ctx := context.Background()
	c, err := testEngine.CarryKernel(ctx, from, to, k, model.CarryOptions{Cap: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if c.Pickler != "pickle" {
		t.Errorf("pickler %s", c.Pickler)
	}
	slices.Sort(c.Names)
	if want := []string{"data", "model", "np", "proj"}; !slices.Equal(c.Names, want) {
		t.Errorf("carried %v, want %v", c.Names, want)
	}
	for _, name := range []string{"double", "halve", "Point", "pt"} {
		if !strings.Contains(c.Left[name], "pickle cannot carry it (dill in the image can)") {
			t.Errorf("%s: %q", name, c.Left[name])
		}
	}
	if !strings.Contains(c.Left["arr"], "over the size cap") {
		t.Errorf("arr (9,600 bytes of array) under a cap of 1,000: %q", c.Left["arr"])
	}
	for _, name := range c.Names {
		out, err := testEngine.kernelClient(to).Execute(ctx, c.New, carryChecks[name])
		if err != nil || strings.TrimSpace(out) != carryWant[name] {
			t.Errorf("%s in the new kernel: %q %v", name, out, err)
		}
	}
}

// A kernel busy with a cell is not waited for: an empty kernel takes its
// place, and the error says why.
func TestCarryKernelBusy(t *testing.T) {
	from, to, k := twoJupyters(t, true, true)
	k.State = "busy"
	c, err := testEngine.CarryKernel(context.Background(), from, to, k, model.CarryOptions{})
	if !errors.Is(err, ErrKernelBusy) || c.New == "" || len(c.Sessions) != 1 {
		t.Errorf("%+v %v", c, err)
	}
	ks, _ := testEngine.Kernels(context.Background(), to)
	if len(ks) != 1 || ks[0].ID != c.New {
		t.Errorf("the new server runs %v", ks)
	}
}

// BenchmarkCarryKernel: the time a replacement spends per kernel carrying
// its variables into the new container (start a kernel there, write the
// variables, copy them through the Engine, read them back), for a kernel
// holding numpy arrays of 10 MB and of 500 MB in all.
func BenchmarkCarryKernel(b *testing.B) {
	for _, mb := range []int{10, 500} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			requireEngine(b)
			needJupyter(b)
			ctx := context.Background()
			dir := b.TempDir()
			from, to := runJupyter(b, model.RunOptions{Dir: dir}), runJupyter(b, model.RunOptions{Dir: dir})
			for _, c := range []*model.Container{from, to} {
				if _, err := testEngine.WaitJupyter(ctx, c, 0); err != nil {
					b.Fatal(err)
				}
			}
			src, dst := testEngine.kernelClient(from), testEngine.kernelClient(to)
			id, err := src.Start(ctx, "python3")
			if err != nil {
				b.Fatal(err)
			}
			// Ten arrays of float64 and a little plain data.
			code := fmt.Sprintf("import numpy as np\nparts = [np.random.rand(%d) for _ in range(10)]\nmeta = {'mb': %d}\n", mb*1_000_000/8/10, mb)
			if _, err := src.Execute(ctx, id, code); err != nil {
				b.Fatal(err)
			}
			k := model.Kernel{ID: id, Name: "python3", State: "idle"}
			var took []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				c, err := testEngine.CarryKernel(ctx, from, to, k, model.CarryOptions{})
				took = append(took, time.Since(start))
				if err != nil || len(c.Names) != 3 {
					b.Fatalf("%+v %v", c, err)
				}
				b.StopTimer()
				if err := dst.Stop(ctx, c.New); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(median(took).Milliseconds()), "carry-ms")
			b.ReportMetric(float64(mb), "MB")
		})
	}
}

// BenchmarkCarryShare: the share of the fixture notebook's names
// (carryNotebook: plain data, a numpy array, a project instance, a
// function, a lambda, a class and its instance, two modules, an open file
// and a generator) that a replacement carries, with dill in the image and
// without it (pickle).
func BenchmarkCarryShare(b *testing.B) {
	for _, dill := range []bool{true, false} {
		name := map[bool]string{true: "dill", false: "pickle"}[dill]
		b.Run(name, func(b *testing.B) {
			from, to, k := twoJupyters(b, dill, true)
			k.Sessions = nil // each run ties none: the new server has the session of the first
			var c model.Carried
			for i := 0; i < b.N; i++ {
				var err error
				c, err = testEngine.CarryKernel(context.Background(), from, to, k, model.CarryOptions{})
				if err != nil || !strings.Contains(c.Pickler, name) {
					b.Fatalf("%+v %v", c, err)
				}
			}
			all := len(c.Names) + len(c.Left)
			b.ReportMetric(float64(len(c.Names)), "names-carried")
			b.ReportMetric(float64(all), "names")
			b.ReportMetric(100*float64(len(c.Names))/float64(all), "carried-%")
		})
	}
}
