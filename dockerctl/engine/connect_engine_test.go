package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConnectNegotiatesTheAPIVersion(t *testing.T) {
	requireEngine(t)
	if testEngine.APIVersion == "" || testEngine.Host == "" {
		t.Fatalf("engine %+v", testEngine)
	}
	// DOCKER_API_VERSION pins the version, as with the docker CLI.
	t.Setenv("DOCKER_API_VERSION", "1.41")
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.APIVersion != "1.41" {
		t.Errorf("pinned version: %s", e.APIVersion)
	}
}

func TestConnectThroughADockerContext(t *testing.T) {
	requireEngine(t)
	cfg := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfg)
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	writeContext(t, cfg, "here", testEngine.Host)
	gone := filepath.Join(t.TempDir(), "gone.sock")
	writeContext(t, cfg, "gone", "unix://"+gone)
	writeContext(t, cfg, "remote", "ssh://me@gpu-box")
	os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"currentContext":"gone"}`), 0o644)

	// currentContext from config.json.
	_, err := Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), gone) {
		t.Errorf("current context gone: %v", err)
	}
	// DOCKER_CONTEXT wins over config.json.
	t.Setenv("DOCKER_CONTEXT", "here")
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatalf("context here: %v", err)
	}
	e.Close()
	t.Setenv("DOCKER_CONTEXT", "remote")
	if _, err := Connect(context.Background()); err == nil || !strings.Contains(err.Error(), "ssh://me@gpu-box") || !strings.Contains(err.Error(), "ssh says") {
		t.Errorf("ssh context to a host that does not resolve: %v", err)
	}
	t.Setenv("DOCKER_CONTEXT", "nope")
	if _, err := Connect(context.Background()); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown context: %v", err)
	}
	// DOCKER_HOST wins over any context.
	t.Setenv("DOCKER_HOST", testEngine.Host)
	e, err = Connect(context.Background())
	if err != nil {
		t.Fatalf("DOCKER_HOST over a bad context: %v", err)
	}
	e.Close()
}
