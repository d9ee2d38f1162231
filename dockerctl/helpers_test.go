package dockerctl

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// testEngine is the real Engine the tests in *_engine_test.go files talk
// to; nil when none answers.
var testEngine *engine.Engine

// TestMain connects to the Engine once. Without one, the pure tests still
// run and the Engine tests skip, unless TFDEV_REQUIRE_ENGINE=1 (as in CI),
// where a missing Engine fails the run.
func TestMain(m *testing.M) {
	os.Exit(enginetest.Main(m, "dockerctl", func(ctx context.Context) (func(), error) {
		eng, err := engine.Connect(ctx)
		if err != nil {
			return nil, err
		}
		if err := testimage.EnsureBusybox(ctx, eng.API()); err != nil {
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

const loopDockerfile = enginetest.LoopDockerfile

func testProject(t *testing.T, dockerfileText string) *dockerfile.Project {
	return enginetest.Project(t, dockerfileText)
}

func built(id string) *model.BuildResult {
	return &model.BuildResult{ImageID: id, Builder: model.BuilderBuildKit}
}

func nonce(t testing.TB) string                        { return enginetest.Nonce(t) }
func writeFile(t testing.TB, dir, rel, content string) { enginetest.WriteFile(t, dir, rel, content) }
func removeImageOnCleanup(t testing.TB, ref string) {
	enginetest.RemoveImageOnCleanup(t, testEngine.API(), ref)
}
func runBusybox(t testing.TB) string { return runSleeping(t, testimage.Busybox) }
func runSleeping(t testing.TB, image string) string {
	return enginetest.RunSleeping(t, testEngine.API(), image)
}
func sh(t testing.TB, id, script string) string     { return enginetest.Sh(t, testEngine, id, script) }
func item(p string, op watcher.Op) watcher.SyncItem { return enginetest.Item(p, op) }
func needJupyter(t testing.TB)                      { enginetest.NeedJupyter(t, testEngine.API()) }
func runJupyter(t testing.TB, o model.RunOptions) *model.Container {
	return enginetest.RunJupyter(t, testEngine, o)
}
func median(d []time.Duration) time.Duration { return enginetest.Median(d) }

type testLog = enginetest.Discard

func buildDir(t testing.TB, dir string) *model.BuildResult {
	return enginetest.BuildDir(t, testEngine.API(), dir, func(ctx context.Context, p *dockerfile.Project) (*model.BuildResult, error) {
		return testEngine.Build(ctx, model.BuildOptions{Project: p})
	})
}

func bigContext(t testing.TB, dockerfileText string) (string, *dockerfile.Project) {
	return enginetest.BigContext(t, dockerfileText)
}
