package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed article's Dockerfiles in testdata, with their expected findings.
func TestDoctorOnTheSeedArticle(t *testing.T) {
	for dir, wantCode := range map[string]int{"seed-bad": 1, "seed-good": 0, "seed-multistage": 0} {
		root := filepath.Join("..", "..", "testdata", dir)
		want, err := os.ReadFile(filepath.Join(root, "doctor.expected"))
		if err != nil {
			t.Fatal(err)
		}
		out, stderr, code := tfdev(t, "doctor", "-C", root)
		if code != wantCode || out != string(want) {
			t.Errorf("%s: exit %d (want %d) %s\n got:\n%s\nwant:\n%s", dir, code, wantCode, stderr, out, want)
		}
	}
}

// tfdev build: one cached build with progress, then exit; a failing step
// exits 1 with the FILE:LINE:1 line an editor links.
func TestBuildCommand(t *testing.T) {
	engine(t)
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
}
