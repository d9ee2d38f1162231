package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// The Engine's connection is cut while a replacement waits for the new
// container's Jupyter, and a source edit is made meanwhile. tfdev says the
// loss once and the return once; the old container keeps serving; once
// the Engine is back the replacement is made again (the half-made
// container removed), the edit reaches the container that serves, and
// every phase that started has ended.
func TestEngineLostDuringAReplacement(t *testing.T) {
	eng := needEngine(t)
	dir := standInProject(t)
	p := startProxy(t)
	up := startUpEnv(t, dir, testimage.Busybox, []string{"DOCKER_HOST=" + p.host()}, "--output", "json")
	up.nextEvent(event.Ready, nil)

	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	slow := strings.Replace(string(df), `CMD ["httpd", "-f", "-p", "8888", "-h", "/www"]`, `CMD ["sh", "-c", "sleep 6; exec httpd -f -p 8888 -h /www"]`, 1)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Phase, func(e event.Event) bool {
		return e.Message == "replacing: waiting for the new container's Jupyter" && e.State == event.StepRunning
	})
	p.cut()
	up.nextEvent(event.EngineLost, nil)
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited while the Engine was cut')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The outage lasts until the replacement has failed for it.
	up.nextEvent(event.Info, func(e event.Event) bool {
		return strings.HasPrefix(e.Message, "the Engine's loss cut the replacement short")
	})
	p.restore()
	up.nextEvent(event.EngineBack, nil)
	up.nextEvent(event.Container, func(e event.Event) bool { return strings.HasPrefix(e.Message, "replaced") })
	ready, _ := up.nextEvent(event.Ready, nil)
	if got := containerFile(t, eng, ready.Container, "/app/train.py"); got != "print('edited while the Engine was cut')\n" {
		t.Errorf("train.py in the serving container: %q", got)
	}
	up.stop()
	noNextContainers(t, eng, dir)
	lost, back := 0, 0
	open := map[string]int{}
	for _, l := range up.seen {
		var e event.Event
		if json.Unmarshal([]byte(l), &e) != nil {
			continue
		}
		switch e.Kind {
		case event.EngineLost:
			lost++
		case event.EngineBack:
			back++
		case event.Phase:
			if e.State == event.StepRunning {
				open[e.Message]++
			} else {
				open[e.Message]--
			}
		}
	}
	if lost != 1 || back != 1 {
		t.Errorf("the Engine was said lost %d times and back %d times; want once each", lost, back)
	}
	for msg, n := range open {
		if n > 0 {
			t.Errorf("phase %q started and never ended", msg)
		}
	}
}
