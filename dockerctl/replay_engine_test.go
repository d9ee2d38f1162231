package dockerctl

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/loop"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// replayIn plans the replay of changed in dir's project and carries it out
// in the container c, returning its result and the events it said.
func replayIn(t *testing.T, dir string, c *model.Container, changed ...string) (loop.Replayed, []event.Event) {
	t.Helper()
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Model.Replay(changed, p.Rules)
	if err != nil {
		t.Fatal(err)
	}
	var events []event.Event
	x := newExecutor(enginePorts(testEngine), SessionOptions{}, model.GPUSupport{}, func(e event.Event) { events = append(events, e) }, make(chan loop.Input, 16))
	return x.replay(context.Background(), loop.Replay{Project: p, C: c, Plan: plan, Changed: changed}, model.NewLedger()), events
}

// A replay runs each step as the build did: ENV between two RUNs, a
// WORKDIR change, USER, a bind mount (there for the run only), a cache
// mount (run without it); the changed file lands at every COPY that reads
// it.
func TestReplayStepsRunAsInTheBuild(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nWORKDIR /tf\nCOPY requirements.txt /deps/requirements.txt\n"+
		"ENV STAGE=one\nRUN echo \"$STAGE $(pwd) $(id -un)\" > /tmp/run1\n"+
		"WORKDIR /deps\nENV STAGE=two\nUSER nobody\nRUN [\"sh\", \"-c\", \"echo \\\"$STAGE $(pwd) $(id -un)\\\" > /tmp/run2\"]\nUSER root\n"+
		"RUN --mount=type=bind,source=requirements.txt,target=/mnt/req.txt cp /mnt/req.txt /tmp/bound\n"+
		"RUN --mount=type=cache,target=/root/.cache/x cat /deps/requirements.txt > /tmp/cached\n"+
		"COPY . /tf\n")
	writeFile(t, dir, "requirements.txt", "tiny==2.0\n")
	c := runSleepingContainer(t, testimage.Jupyter)
	res, events := replayIn(t, dir, c, "requirements.txt")
	if res.Err != nil {
		t.Fatalf("replay: %v", res.Err)
	}
	got := sh(t, c.ID, "cat /tmp/run1 /tmp/run2 /tmp/bound /tmp/cached /deps/requirements.txt /tf/requirements.txt; test -e /mnt/req.txt && echo still mounted")
	want := "one /tf root\ntwo /deps nobody\ntiny==2.0\ntiny==2.0\ntiny==2.0\ntiny==2.0"
	if got != want {
		t.Errorf("in the container:\n%s\nwant\n%s", got, want)
	}
	var done []string
	for _, e := range events {
		if e.Kind == event.ReplayStep && e.State == event.StepDone {
			done = append(done, e.Instruction)
		}
	}
	if len(done) != 6 {
		t.Errorf("%d steps said done: %q", len(done), done)
	}
}

// A failing install stops at its step, with its line and last output.
func TestReplayFailureSaysItsLine(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Jupyter+"\nCOPY requirements.txt /tmp/requirements.txt\n"+
		"RUN pip install --no-index -r /tmp/requirements.txt\nRUN touch /tmp/after\nCOPY . /tf\n")
	writeFile(t, dir, "requirements.txt", "nosuchpackage-tfdev==1.0\n")
	c := runSleepingContainer(t, testimage.Jupyter)
	res, _ := replayIn(t, dir, c, "requirements.txt")
	var re *model.ReplayError
	if !errors.As(res.Err, &re) || re.Line != 3 || re.Code == 0 || !strings.Contains(strings.Join(re.Log, "\n"), "nosuchpackage-tfdev") {
		t.Fatalf("result %v (%+v)", res.Err, re)
	}
	if got := sh(t, c.ID, "test -e /tmp/after && echo ran"); got == "ran" {
		t.Error("the step after the failure ran")
	}
}

// runSleepingContainer is runSleeping as a Container.
func runSleepingContainer(t *testing.T, image string) *model.Container {
	id := runSleeping(t, image)
	return &model.Container{ID: id, Name: id[:12], Image: image}
}
