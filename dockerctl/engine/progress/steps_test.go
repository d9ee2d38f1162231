package progress

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func trackerFor(t *testing.T, df string, progress func(model.StepProgress)) *Tracker {
	t.Helper()
	m, err := dockerfile.Parse(strings.NewReader(df), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(m, progress)
}

// The legacy builder numbers a step of its own after the Dockerfile's
// when the build has labels (--label: tfdev's project label): it is no
// step of the Dockerfile, and the ones before it end as they did.
func TestLegacyStreamWithTheLabelStep(t *testing.T) {
	final := map[int]model.StepState{}
	tr := trackerFor(t, "FROM base:1\nRUN make\n", func(p model.StepProgress) { final[p.Index] = p.State })
	for _, l := range []string{"Step 1/3 : FROM base:1\n", " ---> abc\n", "Step 2/3 : RUN make\n", " ---> Running in x\n", "ok\n",
		"Step 3/3 : LABEL dev.tfdev.project=123\n", " ---> Running in y\n", "Successfully built def\n"} {
		tr.Stream(l)
	}
	tr.Finish()
	if final[1] != model.StepCached || final[2] != model.StepDone || len(final) != 2 {
		t.Errorf("steps %v", final)
	}
}

// BuildKit's statuses under a FROM vertex are its downloads; others (the
// context's transfer, an extraction) are not.
func TestPullStatusesOfTheFromStep(t *testing.T) {
	tr := trackerFor(t, "FROM base:1\nCOPY . /app\n", nil)
	var got []model.PullProgress
	tr.Pull = func(p model.PullProgress) { got = append(got, p) }
	done := time.Now()
	tr.Trace(Status{
		Vertexes: []Vertex{{Digest: "v1", Name: "[1/2] FROM docker.io/library/base:1"}, {Digest: "v0", Name: "[internal] load build context"}},
		Statuses: []VertexStatus{
			{ID: "sha256:aa", Vertex: "v1", Current: 10, Total: 100},
			{ID: "sha256:aa", Vertex: "v1", Current: 100, Total: 100, Completed: done},
			{ID: "extracting sha256:aa", Vertex: "v1", Current: 0, Total: 0},
			{ID: "transferring context:", Vertex: "v0", Current: 40, Total: 0},
		},
	})
	if len(got) != 2 || got[0].Step != 1 || got[0].Current != 10 || got[1].Done != true || got[1].Total != 100 || got[0].Image != "FROM base:1" {
		t.Errorf("%+v", got)
	}
}

// Past nine steps BuildKit pads the step's number ("[ 2/10]"), with or
// without a stage's name: each still maps to its Dockerfile line, however
// often an instruction repeats.
func TestVertexNamesPastNineSteps(t *testing.T) {
	df := "FROM base:1\nARG GID\nRUN addgroup --gid $GID user\n" + strings.Repeat("RUN true\n", 7) + "RUN echo done\n"
	tr := trackerFor(t, df, nil)
	for _, c := range []struct {
		name string
		line int
	}{
		{"[ 1/10] FROM docker.io/library/base:1", 1},
		{"[ 2/10] RUN addgroup --gid $GID user", 3},
		{"[ 5/10] RUN true", 6},
		{"[10/10] RUN echo done", 11},
		{"[internal] load build context", 0},
	} {
		idx := tr.vertexStep(c.name)
		got := 0
		if idx > 0 {
			got = tr.All[idx-1].Line
		}
		if got != c.line {
			t.Errorf("%q maps to line %d, want %d", c.name, got, c.line)
		}
	}
	staged := trackerFor(t, "FROM base:1 AS build\n"+strings.Repeat("RUN true\n", 10)+"FROM base:1\nCOPY --from=build /x /x\n", nil)
	if idx := staged.vertexStep("[build  3/11] RUN true"); idx == 0 || staged.All[idx-1].Line != 3 {
		t.Errorf("a stage's padded step maps to %d", idx)
	}
}

// A failing step of a long Dockerfile is named, with its output.
func TestAFailingStepPastNineIsNamed(t *testing.T) {
	df := "FROM base:1\nARG GID\nRUN addgroup --gid $GID user\n" + strings.Repeat("RUN true\n", 8)
	tr := trackerFor(t, df, nil)
	v := Vertex{Digest: "sha256:a", Name: "[ 2/10] RUN addgroup --gid $GID user", Started: time.Unix(1, 0)}
	tr.Trace(Status{Vertexes: []Vertex{v}, Logs: []Log{{Vertex: "sha256:a", Msg: []byte("addgroup: Please enter a username matching the regular expression\n")}}})
	v.Completed, v.Error = time.Unix(2, 0), "process \"/bin/sh -c addgroup --gid $GID user\" did not complete successfully: exit code: 1"
	tr.Trace(Status{Vertexes: []Vertex{v}})
	err := tr.Fail("process \"/bin/sh -c addgroup --gid $GID user\" did not complete successfully: exit code: 1")
	be, ok := err.(*model.BuildError)
	if !ok || be.Line != 3 || be.ExitCode != 1 || len(be.Log) != 1 || !strings.Contains(be.Log[0], "addgroup:") {
		t.Errorf("error %#v", err)
	}
}

// Buildah (Podman's builder) numbers steps within their stage ("[2/2]
// STEP 3/5: ..."), says "--> Using cache" for a cached one, adds a LABEL
// step for --label and commits each stage; a failing RUN's output and exit
// status name its step.
func TestBuildahStream(t *testing.T) {
	final := map[int]model.StepState{}
	df := "ARG BASE\nFROM ${BASE} AS b\nRUN echo one\nFROM ${BASE}\nWORKDIR /app\nCOPY --from=b /etc/hostname /x\nRUN echo broken >&2 && exit 3\n"
	tr := trackerFor(t, df, func(p model.StepProgress) { final[p.Index] = p.State })
	for _, l := range []string{"[1/2] STEP 1/2: FROM busybox AS b\n", "[1/2] STEP 2/2: RUN echo one\n", "one\n", "--> 413dc1f6090\n",
		"[2/2] STEP 1/5: FROM busybox\n", "[2/2] STEP 2/5: WORKDIR /app\n", "--> Using cache 9e7e7494f2adf47b\n", "--> 9e7e7494f2a\n",
		"[2/2] STEP 3/5: COPY --from=b /etc/hostname /x\n", "--> 86bc5a40f25\n", "[2/2] STEP 4/5: RUN echo broken >&2 && exit 3\n", "broken\n"} {
		tr.Stream(l)
	}
	err := tr.Fail(`building at STEP "RUN echo broken >&2 && exit 3": while running runtime: exit status 3`)
	want := map[int]model.StepState{2: model.StepCached, 3: model.StepDone, 4: model.StepCached, 5: model.StepCached, 6: model.StepDone, 7: model.StepFailed}
	for i, s := range want {
		if final[i] != s {
			t.Errorf("step %d: %q, want %q (all %v)", i, final[i], s, final)
		}
	}
	var be *model.BuildError
	if !errors.As(err, &be) || be.Line != 7 || be.ExitCode != 3 || len(be.Log) != 1 || be.Log[0] != "broken" {
		t.Errorf("the failure: %+v", err)
	}
	tr = trackerFor(t, "FROM base:1\nRUN make\n", func(p model.StepProgress) { final[p.Index] = p.State })
	clear(final)
	for _, l := range []string{"STEP 1/3: FROM base:1\n", "STEP 2/3: RUN make\n", "ok\n", "--> abc\n", "STEP 3/3: LABEL \"dev.tfdev.project\"=\"1\"\n", "COMMIT x\n", "--> def\n"} {
		tr.Stream(l)
	}
	tr.Finish()
	if final[1] != model.StepCached || final[2] != model.StepDone || len(final) != 2 {
		t.Errorf("one stage: %v", final)
	}
}
