package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

func TestBuildCommand(t *testing.T) {
	needEngine(t)
	dir := standInProject(t)
	base := "BASE=tfdev-test/busybox:1.35"
	out, stderr, code := tfdev(t, "build", "-C", dir, "--build-arg", base)
	if code != 0 || !strings.Contains(out, "tfdev: build started") || !strings.Contains(out, "tfdev: step 7/8 COPY . /app ...") || !strings.Contains(out, "tfdev: build done in") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	df := filepath.Join(dir, "Dockerfile")
	b, _ := os.ReadFile(df)
	os.WriteFile(df, []byte(strings.Replace(string(b), "COPY . /app", "RUN echo 'broken on purpose' && exit 4\nCOPY . /app", 1)), 0o644)
	out, _, code = tfdev(t, "build", "-C", dir, "--build-arg", base)
	if code != 1 || !strings.Contains(out, "Dockerfile:11:1: error: RUN echo 'broken on purpose' && exit 4: exit code 4") || !strings.Contains(out, "broken on purpose") {
		t.Errorf("failing build: exit %d\n%s", code, out)
	}
	// JSON lines: every event carries the time it happened.
	os.WriteFile(df, b, 0o644)
	out, _, code = tfdev(t, "build", "-C", dir, "--build-arg", base, "--output", "json")
	if code != 0 {
		t.Fatalf("json build: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		var e event.Event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a JSON event: %q", l)
		}
		if e.Time.IsZero() || time.Since(e.Time) > time.Hour {
			t.Errorf("event without a real time: %s", l)
		}
	}
	if len(lines) < 3 {
		t.Errorf("only %d events:\n%s", len(lines), out)
	}
}
