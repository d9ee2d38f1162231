package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// The watcher in the container reports what is written there, with its
// hash: by inotify where python3 is (the Jupyter image), by polling where
// it is not (busybox).
func TestContainerWatch(t *testing.T) {
	requireEngine(t)
	for _, c := range []struct {
		name string
		id   func(*testing.T) string
	}{
		{"busybox-poll", func(t *testing.T) string { return runBusybox(t) }},
		{"jupyter-inotify", func(t *testing.T) string { needJupyter(t); return runJupyter(t, model.RunOptions{HostPort: 0}).ID }},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			id := c.id(t)
			sh(t, id, "mkdir -p /work/nb")
			w, err := testEngine.WatchContainer(ctx, id, []string{"/work", "/not/there"})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			sh(t, id, "echo one > /work/nb/a.ipynb; mkdir -p /work/new/deep; echo two > /work/new/deep/b.txt; mkdir -p /work/.ipynb_checkpoints; echo x > /work/.ipynb_checkpoints/a-checkpoint.ipynb")
			got := map[string]string{}
			deadline := time.After(30 * time.Second) // a bound, not a timing assertion
			for len(got) < 2 {
				select {
				case b := <-w.Changes():
					for p, s := range b {
						got[p] = s
					}
				case <-deadline:
					t.Fatalf("changes so far: %v", got)
				}
			}
			if got["/work/nb/a.ipynb"] != sha("one\n") || got["/work/new/deep/b.txt"] != sha("two\n") {
				t.Errorf("changes %v", got)
			}
			for p := range got {
				if junk(p) {
					t.Errorf("reported %s", p)
				}
			}
			// A flush answers at once with what was written since.
			sh(t, id, "echo three > /work/nb/c.py")
			b, err := w.Flush(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if b["/work/nb/c.py"] != sha("three\n") {
				// The poller may have reported it in a batch of its own first.
				select {
				case more := <-w.Changes():
					if more["/work/nb/c.py"] != sha("three\n") {
						t.Errorf("flush %v, then %v", b, more)
					}
				case <-time.After(30 * time.Second):
					t.Errorf("flush %v", b)
				}
			}
		})
	}
}
