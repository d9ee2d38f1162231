package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
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

// jupyterKernels lists the kernels a Jupyter runs, by ID.
func jupyterKernels(t *testing.T, base, token string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/kernels", nil)
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ks []struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&ks); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}

// splitURL is a Jupyter URL's base and token.
func splitURL(t *testing.T, raw string) (base, token string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Scheme + "://" + u.Host, u.Query().Get("token")
}

// tfdev is killed (SIGKILL: a closed laptop, an OOM kill) with a kernel
// running, a source file is edited, and tfdev up comes again: the new image
// differs from the container's only in that file, so the container is
// kept, the file synced, and the kernel lives on. tfdev status says the
// container matches the new image plus synced files.
func TestReattachAfterAKillKeepsTheKernel(t *testing.T) {
	eng := needEngine(t)
	dir := appProject(t)
	up := startUp(t, dir, "--output", "json")
	ready, _ := up.nextEvent(event.Ready, nil)
	base, token := splitURL(t, ready.URL)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/kernels", strings.NewReader(`{"name":"python3"}`))
	req.Header.Set("Authorization", "token "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var kernel struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&kernel)
	resp.Body.Close()
	if kernel.ID == "" {
		t.Fatalf("no kernel started: %d", resp.StatusCode)
	}
	if err := up.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-up.done

	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited while tfdev was away')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up2 := startUp(t, dir, "--output", "json")
	up2.nextEvent(event.Info, func(e event.Event) bool { return strings.Contains(e.Message, "only in files tfdev syncs") })
	started, _ := up2.nextEvent(event.Container, nil)
	if !strings.HasPrefix(started.Message, "reattached") || started.Container != ready.Container {
		t.Fatalf("not kept: %s %q", started.Container, started.Message)
	}
	again, passed := up2.nextEvent(event.Ready, nil)
	for _, e := range passed {
		if e.Kind == event.Container && strings.Contains(e.Message, "kernels restarted") {
			t.Errorf("the kernels were restarted: %s", e.Message)
		}
	}
	base2, token2 := splitURL(t, again.URL)
	if ks := jupyterKernels(t, base2, token2); !slices.Contains(ks, kernel.ID) {
		t.Errorf("kernel %s is gone; running: %v", kernel.ID, ks)
	}
	if got := containerFile(t, eng, again.Container, "/app/train.py"); got != "print('edited while tfdev was away')\n" {
		t.Errorf("train.py in the container: %q", got)
	}
	if out, _, code := tfdev(t, "status", "-C", dir); code != 0 || !strings.Contains(out, "+ synced files (matches the last build") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	up2.stop()
}

// A conflict stays listed until resolved: tfdev status (plain and JSON)
// names both copies while it lasts, and the merge saved on the host
// resolves it, said as such.
func TestConflictListedUntilResolved(t *testing.T) {
	eng := needEngine(t)
	dir, ready, up2 := editedOnBothSides(t)
	c, _ := up2.nextEvent(event.Rescue, func(e event.Event) bool { return e.Conflict })
	up2.nextEvent(event.Ready, nil)

	out, _, code := tfdev(t, "status", "-C", dir)
	if code != 0 || !strings.Contains(out, "conflicts: 1 not resolved") || !strings.Contains(out, "train.py: yours in place; the container's (/app/train.py) at "+c.To) {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	js, _, _ := tfdev(t, "status", "-C", dir, "--output", "json")
	var st struct {
		Conflicts []struct{ File, Copy, From string }
	}
	if err := json.Unmarshal([]byte(js), &st); err != nil || len(st.Conflicts) != 1 || st.Conflicts[0].File != "train.py" || st.Conflicts[0].Copy != c.To {
		t.Errorf("status --output json: %v\n%s", err, js)
	}

	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('train')\n# HOST\n# CONT\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up2.nextEvent(event.Resolved, func(e event.Event) bool { return e.File == "train.py" })
	if got := containerFile(t, eng, ready.Container, "/app/train.py"); got != "print('train')\n# HOST\n# CONT\n" {
		t.Errorf("the merge in the container: %q", got)
	}
	if out, _, _ := tfdev(t, "status", "-C", dir); strings.Contains(out, "conflicts:") {
		t.Errorf("still listed:\n%s", out)
	}
	up2.stop()
}

// editedOnBothSides runs tfdev up on an app project and stops it with the
// container left running; train.py is then edited in the container and on
// the host, and tfdev up runs again (its output as JSON).
func editedOnBothSides(t *testing.T) (dir string, ready event.Event, up2 *upProcess) {
	t.Helper()
	eng := needEngine(t)
	dir = appProject(t)
	up := startUp(t, dir, "--output", "json", "--keep")
	ready, _ = up.nextEvent(event.Ready, nil)
	up.stop()
	if _, err := eng.ExecOK(context.Background(), ready.Container, "sh", "-c", `echo "# CONT" >> /app/train.py`); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('train')\n# HOST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, ready, startUp(t, dir, "--output", "json")
}
