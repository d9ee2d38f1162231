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
// published, at a local URL that answers with the token; an edit syncs
// over ssh.
func TestUpOverSSH(t *testing.T) {
	eng := engine(t)
	ssh := testssh.Start(t)
	dir := appProject(t)
	up := startUpEnv(t, dir, "tfdev-test/jupyter:bookworm", []string{"DOCKER_HOST=" + ssh.Host(), "DOCKER_CONTEXT=", "PATH=" + ssh.PathEnv()}, "--output", "json")
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
	if out, err := st.CombinedOutput(); err != nil || !strings.Contains(string(out), "engine:    "+ssh.Host()+" (API ") || !strings.Contains(string(out), "remote, over ssh") {
		t.Errorf("tfdev status over ssh: %v\n%s", err, out)
	}
	up.stop()
}
