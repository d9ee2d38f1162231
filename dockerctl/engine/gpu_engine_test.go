package engine

import (
	"context"
	"strings"
	"testing"
)

// This machine's Engine has no GPU: the CPU path is what runs here.
func TestCapabilitiesOfThisEngine(t *testing.T) {
	requireEngine(t)
	gpu, platform, err := testEngine.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if platform != "linux/x86_64" && platform != "linux/aarch64" && !strings.HasPrefix(platform, "linux/") {
		t.Errorf("platform %q", platform)
	}
	if !gpu.Available && !strings.Contains(gpu.Why, "no GPU") {
		t.Errorf("CPU reason %q", gpu.Why)
	}
}
