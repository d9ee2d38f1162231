package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testssh"
)

// tfdev up on an Engine reached over ssh (a real sshd standing for the GPU
// machine): Jupyter comes through the Engine's connection, with nothing
// published, at a local URL that answers with the token and refuses
// without; an edit syncs over ssh; a requirements change rebuilds with
// only that file sent; a notebook made in Jupyter comes home at the stop.
func TestUpOverSSH(t *testing.T) {
	eng := needEngine(t)
	ssh := testssh.Start(t)
	dir := appProject(t)
	up := startUpEnv(t, dir, "tfdev-test/jupyter:bookworm", []string{"DOCKER_HOST=" + ssh.Host(), "DOCKER_CONTEXT=", "PATH=" + ssh.PathEnv()}, "--output", "json", "--deps", "rebuild")
	project, _ := up.nextEvent(event.Project, nil)
	if !strings.HasPrefix(project.Engine, "ssh://") {
		t.Errorf("the project event names the engine %q", project.Engine)
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if m == nil || !strings.HasPrefix(ready.URL, "http://127.0.0.1:") {
		t.Fatalf("ready URL %q", ready.URL)
	}
	if code := statusCode(t, statusURL(ready), m[2]); code != 200 {
		t.Errorf("GET /api/status through the local URL: %d", code)
	}
	if code := statusCode(t, m[1]+"/api/contents", ""); code != 403 {
		t.Errorf("GET /api/contents through the local URL without the token: %d", code)
	}
	c, err := eng.Find(context.Background(), dir)
	if err != nil || c == nil || !c.Unpublished {
		t.Errorf("the container %+v (%v): want Jupyter published nowhere on the remote machine", c, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited over ssh')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Sync, func(e event.Event) bool { return len(e.Paths) == 1 && e.Paths[0] == "train.py" })
	if got := containerFile(t, eng, ready.Container, "/app/train.py"); got != "print('edited over ssh')\n" {
		t.Errorf("in the container: %q", got)
	}
	// status names the engine: remote, over ssh.
	st := exec.Command(tfdevBinary(t), "status", "-C", dir)
	st.Env = append(os.Environ(), "DOCKER_HOST="+ssh.Host(), "DOCKER_CONTEXT=", "PATH="+ssh.PathEnv())
	if out, err := st.CombinedOutput(); err != nil || !strings.Contains(string(out), "engine:    Docker Engine ") || !strings.Contains(string(out), " at "+ssh.Host()+" (API ") || !strings.Contains(string(out), "remote, over ssh") {
		t.Errorf("tfdev status over ssh: %v\n%s", err, out)
	}
	// A dependency change rebuilds (--deps rebuild: the build and the
	// replacement over ssh); the session sends only the two files changed
	// since the first build: train.py and requirements.txt.
	req := "numpy==1.24.2\n# over ssh\n"
	if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(req), 0o644); err != nil {
		t.Fatal(err)
	}
	done, _ := up.nextEvent(event.BuildDone, nil)
	if want := len(req) + len("print('edited over ssh')\n"); done.Context != "session" || done.Files != 2 || done.Bytes != int64(want) {
		t.Errorf("the rebuild over ssh: %s; want 2 files, %d B", done.Text(), want)
	}
	ready, _ = up.nextEvent(event.Ready, nil)
	jupyterPut(t, m[1], m[2], "made-over-ssh.ipynb")

	// doctor names it too.
	doc := exec.Command(tfdevBinary(t), "doctor", "-C", dir)
	doc.Env = st.Env
	var derr strings.Builder
	doc.Stderr = &derr
	_ = doc.Run() // its findings are not what this test is about
	if !strings.Contains(derr.String(), "tfdev: engine Docker Engine ") || !strings.Contains(derr.String(), " at "+ssh.Host()+" (API ") || !strings.Contains(derr.String(), "remote, over ssh") {
		t.Errorf("tfdev doctor over ssh says:\n%s", derr.String())
	}
	up.stop()
	if b, err := os.ReadFile(filepath.Join(dir, ".tfdev/kept/tf/made-over-ssh.ipynb")); err != nil || !strings.Contains(string(b), "made in Jupyter") {
		t.Errorf("the notebook made over ssh, after the stop: %q %v", b, err)
	}
}

// tfdev up through an ssh docker context (made by the docker CLI), as
// through DOCKER_HOST: the Engine over ssh, Jupyter through its
// connection, an edit synced.
func TestUpOverSSHContext(t *testing.T) {
	eng := needEngine(t)
	ssh := testssh.Start(t)
	cfg := t.TempDir()
	mk := exec.Command("docker", "--config", cfg, "context", "create", "gpu-box", "--docker", "host="+ssh.Host())
	mk.Env = append(os.Environ(), "PATH="+ssh.PathEnv())
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v %s", err, out)
	}
	dir := appProject(t)
	up := startUpEnv(t, dir, "tfdev-test/jupyter:bookworm", []string{"DOCKER_HOST=", "DOCKER_CONFIG=" + cfg, "DOCKER_CONTEXT=gpu-box", "PATH=" + ssh.PathEnv()}, "--output", "json")
	project, _ := up.nextEvent(event.Project, nil)
	if project.Engine != ssh.Host() {
		t.Errorf("the project event names the engine %q, want %q", project.Engine, ssh.Host())
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if m == nil || statusCode(t, statusURL(ready), m[2]) != 200 {
		t.Fatalf("ready %q does not answer with its token", ready.URL)
	}
	if c, err := eng.Find(context.Background(), dir); err != nil || c == nil || !c.Unpublished {
		t.Errorf("the container %+v (%v): want Jupyter through the Engine's connection", c, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('edited through the context')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Sync, func(e event.Event) bool { return len(e.Paths) == 1 && e.Paths[0] == "train.py" })
	if got := containerFile(t, eng, ready.Container, "/app/train.py"); got != "print('edited through the context')\n" {
		t.Errorf("in the container: %q", got)
	}
	up.stop()
}
