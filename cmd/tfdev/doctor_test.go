package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The seed article's Dockerfiles in testdata, with their expected findings.
func TestDoctorOnTheSeedArticle(t *testing.T) {
	// The Dockerfiles' own findings: no Engine to ask about base images.
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
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
