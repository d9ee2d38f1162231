package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// A non-root image made for the user from build args with no default
// (ARG USER_ID, ARG GROUP_ID, then addgroup and adduser): tfdev up, run by
// a user who is not root, passes that user's ids, says so, and the files
// it syncs are the user's in the container too.
func TestHostIDsForANonRootImage(t *testing.T) {
	eng := needEngine(t)
	if os.Getuid() != 0 {
		t.Skip("runs tfdev as another user: needs root to switch to it")
	}
	const uid = 1500
	docker, err := strconv.Atoi(groupOf(t, "/var/run/docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	dir := filepath.Join(home, "project")
	files := map[string]string{
		"Dockerfile": "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nARG USER_ID\nARG GROUP_ID\n" +
			"RUN addgroup --gid $GROUP_ID user && adduser --disabled-password --gecos \"\" --uid $USER_ID --gid $GROUP_ID user && chown user:user /tf\n" +
			"USER user\nCOPY --chown=user:user . /tf\n",
		"train.py":      "print(1)\n",
		".dockerignore": ".tfdev\n",
	}
	for name, body := range files {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	// The user owns the project and a home; the binary and the Engine's
	// socket (through its group) are within reach.
	for _, p := range []string{filepath.Dir(home), home, dir, filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "train.py"), filepath.Join(dir, ".dockerignore")} {
		if err := os.Chown(p, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	bin := tfdevBinary(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	up := startUpAs(t, bin, dir, uid, docker, home)
	project, _ := up.nextEvent(event.Project, nil)
	if !strings.Contains(project.Message, ", build args from your user: USER_ID=1500 GROUP_ID=1500 (--host-ids=false leaves them out), engine ") {
		t.Errorf("the project line: %q", project.Message)
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	if out, err := eng.ExecOK(context.Background(), ready.Container, "id", "-u", "user"); err != nil || strings.TrimSpace(string(out)) != "1500" {
		t.Errorf("the container's user: %q %v", out, err)
	}
	writeTestFile(t, filepath.Join(dir, "train.py"), "print(2)\n")
	os.Chown(filepath.Join(dir, "train.py"), uid, uid)
	up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "train.py") })
	if out, err := eng.ExecOK(context.Background(), ready.Container, "stat", "-c", "%u %s", "/tf/train.py"); err != nil || strings.TrimSpace(string(out)) != "1500 9" {
		t.Errorf("the synced file: %q %v", out, err)
	}
	up.stop()
}

// startUpAs runs tfdev up on dir as uid, with the group gid (the Engine's
// socket's) and home as its HOME.
func startUpAs(t *testing.T, bin, dir string, uid, gid int, home string) *upProcess {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("no setpriv to run tfdev as another user")
	}
	env := []string{"HOME=" + home, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache")}
	return startUpEnvWith(t, dir, testimage.Jupyter, env, []string{setpriv, "--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(uid),
		"--groups=" + strconv.Itoa(gid), bin}, "--output", "json")
}

func groupOf(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("stat", "-c", "%g", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func writeTestFile(t testing.TB, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
