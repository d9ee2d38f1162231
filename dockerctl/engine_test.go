package dockerctl

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/watcher"
)

// testEngine is the real Engine the tests in *_engine_test.go files talk
// to; nil when none answers.
var testEngine *Engine

// TestMain connects to the Engine once. Without one, the pure tests still
// run and the Engine tests skip, unless TFDEV_REQUIRE_ENGINE=1 (as in CI),
// where a missing Engine fails the run.
func TestMain(m *testing.M) {
	ctx := context.Background()
	eng, err := Connect(ctx)
	if err == nil {
		err = testimage.EnsureBusybox(ctx, eng.api)
	}
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_ENGINE") == "1" {
			fmt.Fprintln(os.Stderr, "dockerctl: TFDEV_REQUIRE_ENGINE=1 and the Engine tests cannot run:", err)
			os.Exit(1)
		}
		engineSkip = err.Error()
	} else {
		testEngine = eng
	}
	code := m.Run()
	if eng != nil {
		eng.Close()
	}
	os.Exit(code)
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

func nonce(t testing.TB) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// removeImageOnCleanup removes a tag (and the image when nothing else
// holds it) at the end of the test.
func removeImageOnCleanup(t testing.TB, ref string) {
	t.Cleanup(func() {
		testEngine.api.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func asError[T error](err error, target *T) bool { return errors.As(err, target) }

// buildDir builds the Dockerfile in dir and removes the image at the end.
func buildDir(t testing.TB, dir string) *BuildResult {
	t.Helper()
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := testEngine.Build(context.Background(), BuildOptions{Project: p})
	if err != nil {
		t.Fatal(err)
	}
	removeImageOnCleanup(t, res.ImageID)
	return res
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
