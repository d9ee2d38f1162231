package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/dockerctl/testregistry"
)

// seedProject is the seed article's shape on the busybox base: the
// dependency step reads requirements.txt, the source comes last.
func seedProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "team")
	for name, body := range map[string]string{
		"Dockerfile": "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nWORKDIR /app\nCOPY requirements.txt .\n" +
			"RUN echo installing $(cat requirements.txt) > /installed.txt\nCOPY . .\n",
		"requirements.txt": "numpy==1.24.2\n# " + dir + "\n", // a step of this run's own
		"train.py":         "print(1)\n",
		".dockerignore":    ".tfdev\n",
	} {
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// stepStates runs tfdev build with JSON output and returns each step's
// final state.
func stepStates(t *testing.T, args ...string) (map[string]event.StepState, string, int) {
	t.Helper()
	out, stderr, code := tfdev(t, append([]string{"build", "--output", "json"}, args...)...)
	states := map[string]event.StepState{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e event.Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind == event.BuildStep {
			states[e.Instruction] = e.State
		}
	}
	return states, out + stderr, code
}

// forget removes the project's images and BuildKit's cache: a fresh
// machine, as far as this project goes.
func forget(t *testing.T, eng *engine.Engine, refs ...string) {
	t.Helper()
	for _, ref := range refs {
		eng.RemoveImage(context.Background(), ref, true)
	}
	if out, err := exec.Command("docker", "builder", "prune", "-af").CombinedOutput(); err != nil {
		t.Fatalf("docker builder prune: %v %s", err, out)
	}
}

const installStep = "RUN echo installing $(cat requirements.txt) > /installed.txt"

// A team's cache through a real registry: tfdev build --push, then on a
// machine with neither the image nor the build cache, --cache-from makes
// the dependency step cached; without it, the step runs.
func TestTeamCacheThroughARegistry(t *testing.T) {
	eng := needEngine(t)
	reg := testregistry.Start(t, testregistry.Options{})
	dir := seedProject(t)
	ref := reg.Ref("team/project:cache")
	base := "BASE=" + testimage.Busybox
	local := model.ImageRepo(dir) + ":latest"
	t.Cleanup(func() {
		eng.RemoveImage(context.Background(), local, true)
		eng.RemoveImage(context.Background(), ref, true)
	})

	states, out, code := stepStates(t, "-C", dir, "--build-arg", base, "--push", ref)
	pushed := false
	for _, l := range strings.Split(out, "\n") {
		pushed = pushed || strings.Contains(l, `"message":"pushing `+ref+`"`) && strings.Contains(l, `"state":"done"`)
	}
	if code != 0 || states[installStep] != event.StepDone || !pushed {
		t.Fatalf("build --push: exit %d, %v\n%s", code, states, out)
	}
	forget(t, eng, local, ref)
	states, out, code = stepStates(t, "-C", dir, "--build-arg", base, "--cache-from", ref)
	if code != 0 || states[installStep] != event.StepCached {
		t.Errorf("with --cache-from on a fresh machine, the dependency step is %q, want cached (exit %d)\n%s", states[installStep], code, out)
	}
	forget(t, eng, local, ref)
	states, out, code = stepStates(t, "-C", dir, "--build-arg", base)
	if code != 0 || states[installStep] != event.StepDone {
		t.Errorf("without --cache-from, the dependency step is %q, want run (exit %d)\n%s", states[installStep], code, out)
	}
	// The legacy builder takes --cache-from from local images only: tfdev
	// pulls it first, and says so.
	forget(t, eng, local, ref)
	if _, out, code := stepStates(t, "-C", dir, "--build-arg", base, "--builder", "legacy", "--cache-from", ref); code != 0 || !strings.Contains(out, "pulling "+ref+" first") {
		t.Errorf("legacy builder with --cache-from: exit %d\n%s", code, out)
	}
	if out, err := exec.Command("docker", "image", "inspect", ref).CombinedOutput(); err != nil {
		t.Errorf("the --cache-from image is not on the Engine after a legacy build: %s", out)
	}

	// doctor: a base only in the registry, with its download size from the
	// manifest; a project naming a registry image is told about --cache-from.
	other := filepath.Join(t.TempDir(), "from-registry")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "Dockerfile"), []byte("FROM "+ref+"\nCOPY . /app\n"), 0o644)
	os.WriteFile(filepath.Join(other, ".dockerignore"), []byte(".tfdev\n"), 0o644)
	os.WriteFile(filepath.Join(other, "compose.yaml"), []byte("services:\n  nb:\n    build: .\n    image: "+reg.Ref("team/nb:dev")+"\n"), 0o644)
	eng.RemoveImage(context.Background(), ref, true)
	size, err := engine.RegistrySize(context.Background(), ref, "amd64")
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, _ := tfdev(t, "doctor", "-C", other)
	if !strings.Contains(out, "the base image "+ref+" is not on the Engine: the first build pulls it ("+event.HumanBytes(size)+" to download") ||
		!strings.Contains(out, "compose.yaml: info: the project names the image "+reg.Ref("team/nb:dev")) || !strings.Contains(out, "tfdev build --push "+reg.Ref("team/nb:dev")) {
		t.Errorf("doctor:\n%s%s", out, stderr)
	}
}

// A base on a registry that wants a login: before docker login, tfdev
// build and tfdev pull fail naming the registry and the command; after
// it (the docker CLI writes the config tfdev reads), both succeed.
func TestRegistryLogin(t *testing.T) {
	eng := needEngine(t)
	reg := testregistry.Start(t, testregistry.Options{Auth: true})
	ref := reg.Ref("tfdev/private:1")
	pusher := t.TempDir()
	docker := func(cfg string, stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("docker", append([]string{"--config", cfg}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	login := func(cfg string) { docker(cfg, reg.Password, "login", reg.Addr, "-u", reg.User, "--password-stdin") }
	login(pusher)
	docker(pusher, "", "tag", testimage.Busybox, ref)
	docker(pusher, "", "push", ref)
	eng.RemoveImage(context.Background(), ref, false)
	t.Cleanup(func() { eng.RemoveImage(context.Background(), ref, false) })

	dir := filepath.Join(t.TempDir(), "private")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+ref+"\nCOPY train.py /app/\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "train.py"), []byte("print('"+dir+"')\n"), 0o644) // a step of this run's own
	t.Cleanup(func() { eng.RemoveImage(context.Background(), model.ImageRepo(dir)+":latest", true) })

	user := t.TempDir()
	t.Setenv("DOCKER_CONFIG", user)
	want := "run docker login " + reg.Addr
	if _, out, code := stepStates(t, "-C", dir); code != 1 || !strings.Contains(out, want) {
		t.Errorf("a build before docker login: exit %d\n%s", code, out)
	}
	if out, stderr, code := tfdev(t, "pull", ref); code != 1 || !strings.Contains(out+stderr, want) {
		t.Errorf("tfdev pull before docker login: exit %d\n%s%s", code, out, stderr)
	}
	login(user)
	if states, out, code := stepStates(t, "-C", dir); code != 0 || states["COPY train.py /app/"] != event.StepDone {
		t.Errorf("a build after docker login: exit %d %v\n%s", code, states, out)
	}
	eng.RemoveImage(context.Background(), ref, false)
	if out, stderr, code := tfdev(t, "pull", ref); code != 0 || !strings.Contains(out, "pulled "+ref) || !strings.Contains(out, ref+": ") || !strings.Contains(out, "to download, from the registry's manifest") {
		t.Errorf("tfdev pull after docker login: exit %d\n%s%s", code, out, stderr)
	}
}
