package loop

import (
	"os/exec"
	"strings"
	"testing"
)

// The loop decides; it never reaches the Engine. Its own imports are the
// shared values, the Dockerfile model, the events, the watcher and the
// standard library; nothing it depends on, however indirectly, is the
// Docker SDK or tfdev's Engine adapter.
func TestLoopNeverImportsTheEngine(t *testing.T) {
	const mod = "github.com/tfdev-dev/tfdev/"
	allowed := map[string]bool{
		mod + "dockerctl/model":      true,
		mod + "dockerctl/dockerfile": true,
		mod + "dockerctl/event":      true,
		mod + "watcher":              true,
	}
	for _, imp := range goList(t, "{{join .Imports \"\\n\"}}") {
		if strings.Contains(strings.Split(imp, "/")[0], ".") && !allowed[imp] {
			t.Errorf("dockerctl/loop imports %s; it may import only %v and the standard library", imp, keys(allowed))
		}
	}
	for _, dep := range goList(t, "{{join .Deps \"\\n\"}}") {
		if strings.HasPrefix(dep, "github.com/docker/docker") || strings.HasPrefix(dep, mod+"dockerctl/engine") ||
			dep == mod+"dockerctl" || strings.HasPrefix(dep, mod+"dockerctl/frontdoor") || strings.HasPrefix(dep, mod+"dockerctl/statefile") {
			t.Errorf("dockerctl/loop depends on %s", dep)
		}
	}
}

func goList(t *testing.T, format string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
