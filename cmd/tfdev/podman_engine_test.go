package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/dockerctl/testpodman"
)

// rootlessUser is the user make test makes for rootless Podman (with
// subordinate ids in /etc/subuid).
const rootlessUser = "tfdev-rootless"

// tfdev run by a user who is not root, on that user's rootless Podman and
// no Docker Engine within reach: tfdev finds the user's Podman service,
// names it rootless, and nothing needs root. The files it syncs are the
// container's root's, which is the user on the host (the container's uid
// 0 maps to theirs); a file made in the container comes home as the
// user's. Jupyter answers through the door, then through the Engine's exec
// (--jupyter-via exec).
func TestRootlessPodman(t *testing.T) {
	needEngine(t) // the Docker Engine holds the test image, saved for the user's Podman
	testpodman.Need(t)
	if os.Getuid() != 0 {
		t.Skip("runs tfdev and Podman as another user: needs root to switch to it")
	}
	u, err := user.Lookup(rootlessUser)
	if err != nil {
		if os.Getenv("TFDEV_REQUIRE_PODMAN") == "1" {
			t.Fatalf("no user %s (make test makes it): %v", rootlessUser, err)
		}
		t.Skip("no user " + rootlessUser + " for rootless Podman")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	home := t.TempDir()
	os.Chmod(filepath.Dir(home), 0o755)
	run := filepath.Join(home, "run")
	dir := filepath.Join(home, "project")
	for p, body := range map[string]string{
		"Dockerfile":    "ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\nCMD [\"jupyter\", \"notebook\", \"--ip=0.0.0.0\", \"--allow-root\", \"--no-browser\", \"--notebook-dir=/app\"]\n",
		"train.py":      "print(1)\n",
		".dockerignore": ".tfdev\n",
	} {
		writeTestFile(t, filepath.Join(dir, p), body)
	}
	// Podman 4.3 stores a rootless user's images with vfs (a full copy
	// per layer and container) unless told that the kernel mounts overlay
	// for users, as this one (6.x) does: 0.5 s a container instead of 7.
	writeTestFile(t, filepath.Join(home, ".config/containers/storage.conf"), "[storage]\ndriver = \"overlay\"\n")
	os.MkdirAll(filepath.Join(run, "podman"), 0o700)
	filepath.Walk(home, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	as := []string{"setpriv", "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups"}
	env := []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + run, "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "DOCKER_HOST=", "USER=" + rootlessUser}

	// The test image, from the Docker Engine into the user's storage.
	images := filepath.Join(home, "jupyter.tar")
	save := exec.Command("sh", "-c", "docker save "+testimage.Jupyter+" > "+images)
	if out, err := save.CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v\n%s", err, out)
	}
	os.Chown(images, uid, gid)
	load := exec.Command(as[0], append(as[1:], "podman", "load", "-q", "-i", images)...)
	load.Env, load.Dir = append(os.Environ(), env...), home // the test's folder may be closed to the user
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("podman load as %s: %v\n%s", rootlessUser, err, out)
	}
	sock := filepath.Join(run, "podman", "podman.sock")
	testpodman.ServeAs(t, sock, as, env)
	os.Chown(sock, uid, gid)
	t.Setenv("DOCKER_HOST", "unix://"+sock) // the test's own view of the user's engine
	pod, err := engine.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer pod.Close()

	bin := tfdevBinary(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	up := startUpEnvWith(t, dir, testimage.Jupyter, env, append(as, bin), "--output", "json")
	project, _ := up.nextEvent(event.Project, nil)
	if !strings.HasPrefix(project.EngineName, "Podman ") || !strings.HasSuffix(project.EngineName, "(rootless)") || project.Engine != "unix://"+sock ||
		!strings.Contains(project.Message, "Buildah") {
		t.Errorf("the project line: %q (engine %q at %s)", project.Message, project.EngineName, project.Engine)
	}
	ready, _ := up.nextEvent(event.Ready, nil)
	m := tokenRe.FindStringSubmatch(ready.URL)
	if code := statusCode(t, m[1]+"/api/status", m[2]); code != http.StatusOK {
		t.Errorf("Jupyter through the door: %d", code)
	}
	// The container's root is the user.
	if out, err := pod.ExecOK(context.Background(), ready.Container, "sh", "-c", "head -n 1 /proc/self/uid_map"); err != nil || strings.Join(strings.Fields(string(out)), " ") != "0 "+u.Uid+" 1" {
		t.Errorf("the container's uid map: %q %v", out, err)
	}
	writeTestFile(t, filepath.Join(dir, "train.py"), "print(2)\n")
	os.Chown(filepath.Join(dir, "train.py"), uid, gid)
	up.nextEvent(event.Sync, func(e event.Event) bool { return strings.Contains(strings.Join(e.Paths, " "), "train.py") })
	if out, err := pod.ExecOK(context.Background(), ready.Container, "stat", "-c", "%u %s", "/app/train.py"); err != nil || strings.TrimSpace(string(out)) != "0 9" {
		t.Errorf("the synced file in the container: %q %v", out, err)
	}
	if _, err := pod.ExecOK(context.Background(), ready.Container, "sh", "-c", "echo made = 1 > /app/made.py"); err != nil {
		t.Fatal(err)
	}
	up.nextEvent(event.Rescue, func(e event.Event) bool { return e.From == "/app/made.py" })
	fi, err := os.Stat(filepath.Join(dir, "made.py"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
		t.Errorf("the file made in the container, on the host: %v %v", fi, err)
	}
	up.stop()

	via := startUpEnvWith(t, dir, testimage.Jupyter, env, append(as, bin), "--output", "json", "--jupyter-via", "exec")
	ready, _ = via.nextEvent(event.Ready, nil)
	m = tokenRe.FindStringSubmatch(ready.URL)
	if code := statusCode(t, m[1]+"/api/status", m[2]); code != http.StatusOK {
		t.Errorf("Jupyter through the Engine's exec: %d", code)
	}
	via.stop()
	ids, _ := pod.ProjectContainers(context.Background(), dir)
	for _, id := range ids {
		pod.Remove(context.Background(), id)
	}
}
