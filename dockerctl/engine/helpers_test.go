package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/dockerctl/testssh"
	"github.com/tfdev-dev/tfdev/watcher"
)

// testEngine is the real Engine the tests in *_engine_test.go files talk
// to; nil when none answers.
var testEngine *Engine

// TestMain connects to the Engine once. Without one, the pure tests still
// run and the Engine tests skip, unless TFDEV_REQUIRE_ENGINE=1 (as in CI),
// where a missing Engine fails the run.
func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, "engine", func(ctx context.Context) (func(), error) {
		eng, err := Connect(ctx)
		if err != nil {
			return nil, err
		}
		if err := testimage.EnsureBusybox(ctx, eng.api); err != nil {
			eng.Close()
			return nil, err
		}
		testEngine = eng
		return func() { eng.Close() }, nil
	}, &engineSkip))
}

// engineSkip says why the Engine tests skip.
var engineSkip string

// requireEngine skips a test that needs the Engine when none answers
// (TestMain has already failed the run when TFDEV_REQUIRE_ENGINE=1).
func requireEngine(t testing.TB) {
	t.Helper()
	if testEngine == nil {
		t.Skipf("no Docker Engine (%s); set TFDEV_REQUIRE_ENGINE=1 to make this a failure", engineSkip)
	}
}

func nonce(t testing.TB) string { return enginetest.Nonce(t) }

func writeFile(t testing.TB, dir, rel, content string) { enginetest.WriteFile(t, dir, rel, content) }

func removeImageOnCleanup(t testing.TB, ref string) {
	enginetest.RemoveImageOnCleanup(t, testEngine.api, ref)
}

func runBusybox(t testing.TB) string { return runSleeping(t, testimage.Busybox) }

func runSleeping(t testing.TB, image string) string {
	return enginetest.RunSleeping(t, testEngine.api, image)
}

func sh(t testing.TB, id, script string) string { return enginetest.Sh(t, testEngine, id, script) }

func item(p string, op watcher.Op) watcher.SyncItem { return enginetest.Item(p, op) }

func needJupyter(t testing.TB) { enginetest.NeedJupyter(t, testEngine.api) }

func runJupyter(t testing.TB, o model.RunOptions) *model.Container {
	return enginetest.RunJupyter(t, testEngine, o)
}

// readyJupyter runs a Jupyter container and waits for it to answer.
func readyJupyter(t testing.TB, o model.RunOptions) *model.Container {
	t.Helper()
	requireEngine(t)
	needJupyter(t)
	c := runJupyter(t, o)
	if _, err := testEngine.WaitJupyter(context.Background(), c, 0); err != nil {
		t.Fatal(err)
	}
	return c
}

func median(d []time.Duration) time.Duration { return enginetest.Median(d) }

type testLog = enginetest.Discard

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// buildDir builds the Dockerfile in dir and removes the image at the end.
func buildDir(t testing.TB, dir string) *model.BuildResult {
	return enginetest.BuildDir(t, testEngine.api, dir, func(ctx context.Context, p *dockerfile.Project) (*model.BuildResult, error) {
		return testEngine.Build(ctx, model.BuildOptions{Project: p})
	})
}

// thousandFiles writes 1,000 small files in ten folders and returns their
// sync items.
func thousandFiles(t testing.TB, dir string) []watcher.SyncItem {
	var items []watcher.SyncItem
	for i := 0; i < 1000; i++ {
		p := fmt.Sprintf("pkg%d/m%d.py", i%10, i)
		writeFile(t, dir, p, fmt.Sprintf("v = %d\n", i))
		items = append(items, item(p, watcher.Changed))
	}
	return items
}

// sshEngine connects to the local Engine through a real sshd, as to a
// remote GPU machine.
func sshEngine(b testing.TB) *Engine {
	b.Helper()
	testssh.Start(b).UseAsDockerHost(b)
	e, err := Connect(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}
