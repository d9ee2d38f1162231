package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// seedDockerfile is the seed article's recommended shape on the test base;
// the RUN stands for pip install and reads requirements.txt.
const seedDockerfile = `ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter
FROM ${BASE}
WORKDIR /app
ENV PYTHONUNBUFFERED=1
COPY requirements.txt /app/
RUN echo "installing $(wc -l < requirements.txt) requirements" && cp requirements.txt /installed.txt
COPY . /app
`

type buildRun struct {
	res    *model.BuildResult
	events []model.StepProgress
}

func buildSeed(t *testing.T, dir string, builder model.Builder, tag string) (buildRun, error) {
	t.Helper()
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{BuildArgs: map[string]string{"BASE": testimage.Busybox}})
	if err != nil {
		t.Fatal(err)
	}
	var run buildRun
	run.res, err = testEngine.Build(context.Background(), model.BuildOptions{
		Project: p, Tags: []string{tag}, Builder: builder,
		BuildArgs: map[string]string{"BASE": testimage.Busybox},
		Progress:  func(sp model.StepProgress) { run.events = append(run.events, sp) },
	})
	if run.res != nil {
		removeImageOnCleanup(t, run.res.ImageID) // the tag moves on; the old image must go too
	}
	return run, err
}

// finalStates maps each reported step's instruction to its final state.
func finalStates(r *model.BuildResult) map[string]model.StepState {
	m := map[string]model.StepState{}
	for _, s := range r.Steps {
		m[s.Instruction] = s.State
	}
	return m
}

func expectStates(t *testing.T, what string, r *model.BuildResult, want map[string]model.StepState) {
	t.Helper()
	got := finalStates(r)
	for instr, st := range want {
		if got[instr] != st {
			t.Errorf("%s: %q is %q, want %q (all: %v)", what, instr, got[instr], st, got)
		}
	}
}

func TestBuildCachingBothBuilders(t *testing.T) {
	requireEngine(t)
	for _, builder := range []model.Builder{model.BuilderBuildKit, model.BuilderLegacy} {
		t.Run(string(builder), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "Dockerfile", seedDockerfile)
			writeFile(t, dir, ".dockerignore", "data\n")
			writeFile(t, dir, "requirements.txt", "numpy==1.24.2\n# "+nonce(t)+"\n")
			writeFile(t, dir, "train.py", "print(1)\n")
			tag := "tfdev-test/seed:" + nonce(t)
			removeImageOnCleanup(t, tag)

			first, err := buildSeed(t, dir, builder, tag)
			if err != nil {
				t.Fatal(err)
			}
			want := builder
			if testEngine.Podman() {
				want = model.BuilderBuildah // Podman builds with Buildah, whatever is asked
			}
			if first.res.Builder != want || (testEngine.Podman() && first.res.ContextVia != ContextViaTar) {
				t.Errorf("ran %s, the context as %s", first.res.Builder, first.res.ContextVia)
			}
			const (
				copyReq = "COPY requirements.txt /app/"
				run     = `RUN echo "installing $(wc -l < requirements.txt) requirements" && cp requirements.txt /installed.txt`
				copyAll = "COPY . /app"
			)
			expectStates(t, "first build", first.res, map[string]model.StepState{copyReq: model.StepDone, run: model.StepDone, copyAll: model.StepDone})
			var sawRunning bool
			for _, e := range first.events {
				if e.Instruction == run && e.State == model.StepRunning {
					sawRunning = true
				}
				if e.Instruction == run && e.Line != 6 {
					t.Errorf("RUN reported at line %d, want 6", e.Line)
				}
			}
			if !sawRunning {
				t.Error("no running event for the RUN step")
			}

			// Unchanged: every step cached, the same image.
			again, err := buildSeed(t, dir, builder, tag)
			if err != nil {
				t.Fatal(err)
			}
			if again.res.ImageID != first.res.ImageID {
				t.Errorf("unchanged rebuild gave %s, first %s", again.res.ImageID, first.res.ImageID)
			}
			for _, s := range again.res.Steps {
				if s.State != model.StepCached {
					t.Errorf("unchanged rebuild: %s", s)
				}
			}
			if len(again.res.Steps) < 4 {
				t.Errorf("only %d steps reported", len(again.res.Steps))
			}

			// A source edit: only the final COPY runs.
			writeFile(t, dir, "train.py", "print(2)\n")
			src, err := buildSeed(t, dir, builder, tag)
			if err != nil {
				t.Fatal(err)
			}
			expectStates(t, "source edit", src.res, map[string]model.StepState{copyReq: model.StepCached, run: model.StepCached, copyAll: model.StepDone})

			// A requirements change: everything before COPY requirements.txt
			// from cache, the rest runs.
			writeFile(t, dir, "requirements.txt", "numpy==1.24.2\nscipy==1.10.1\n# "+nonce(t)+"\n")
			deps, err := buildSeed(t, dir, builder, tag)
			if err != nil {
				t.Fatal(err)
			}
			expectStates(t, "requirements edit", deps.res, map[string]model.StepState{
				"WORKDIR /app": model.StepCached, copyReq: model.StepDone, run: model.StepDone, copyAll: model.StepDone,
			})
			for _, s := range deps.res.Steps {
				if s.Instruction == run && !strings.Contains(strings.Join(s.Log, "\n"), "installing 3 requirements") {
					t.Errorf("RUN log = %q", s.Log)
				}
			}
		})
	}
}

func TestFailedRunNamesItsLine(t *testing.T) {
	requireEngine(t)
	for _, builder := range []model.Builder{model.BuilderBuildKit, model.BuilderLegacy} {
		t.Run(string(builder), func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "Dockerfile", fmt.Sprintf("ARG BASE=x\nFROM ${BASE}\nWORKDIR /app\nCOPY requirements.txt .\nRUN echo %s && echo 'No matching distribution found for tensorflow==9.9' && exit 3\nCOPY . /app\n", nonce(t)))
			writeFile(t, dir, "requirements.txt", "tensorflow==9.9\n")
			tag := "tfdev-test/fail:" + nonce(t)
			removeImageOnCleanup(t, tag)
			run, err := buildSeed(t, dir, builder, tag)
			var be *model.BuildError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a BuildError", err)
			}
			if be.Line != 5 || be.ExitCode != 3 || !strings.HasPrefix(be.Error(), "Dockerfile:5: RUN echo") || !strings.HasSuffix(be.Error(), ": exit code 3") {
				t.Errorf("error %q (line %d, exit %d)", be, be.Line, be.ExitCode)
			}
			if !strings.Contains(strings.Join(be.Log, "\n"), "No matching distribution") {
				t.Errorf("log lines %q", be.Log)
			}
			var failed bool
			for _, e := range run.events {
				failed = failed || (e.State == model.StepFailed && e.Line == 5)
			}
			if !failed {
				t.Error("no failed event for line 5")
			}
		})
	}
}

// A failing build names its step's line and shows its last output lines,
// with either builder, however long the Dockerfile and however often its
// instructions repeat (BuildKit pads step numbers past nine).
func TestFailingBuildsNameTheirStep(t *testing.T) {
	requireEngine(t)
	needJupyter(t)
	userDockerfile := "FROM " + testimage.Jupyter + "\nARG USER_ID\nARG GROUP_ID\nRUN addgroup --gid $GROUP_ID user\n" +
		"RUN adduser --disabled-password --gecos \"\" --uid $USER_ID --gid $GROUP_ID user\n" + strings.Repeat("RUN true\n", 4) +
		"RUN echo \"user:user\" | chpasswd\nRUN true\nRUN true\n"
	for _, c := range []struct {
		name, dockerfile string
		args             map[string]string
		line             int
		says             string
	}{
		{"no ids", userDockerfile, nil, 4, "addgroup"},
		{"a later step fails", "FROM " + testimage.Busybox + "\n" + strings.Repeat("RUN true\n", 8) + "RUN echo broken >&2 && exit 3\nRUN true\nRUN true\n", nil, 10, "broken"},
		{"a short Dockerfile", "FROM " + testimage.Busybox + "\nRUN true\nRUN echo nope >&2; false\n", nil, 3, "nope"},
	} {
		for _, builder := range []model.Builder{model.BuilderBuildKit, model.BuilderLegacy} {
			t.Run(c.name+"/"+string(builder), func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, dir, "Dockerfile", c.dockerfile)
				p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{BuildArgs: c.args})
				if err != nil {
					t.Fatal(err)
				}
				_, err = testEngine.Build(context.Background(), model.BuildOptions{Project: p, Builder: builder, BuildArgs: c.args})
				var be *model.BuildError
				if !errors.As(err, &be) {
					t.Fatalf("err = %v, want a BuildError", err)
				}
				if be.Line != c.line || !strings.Contains(strings.Join(be.Log, "\n"), c.says) {
					t.Errorf("line %d (want %d), log %q (want %q in it)", be.Line, c.line, be.Log, c.says)
				}
			})
		}
	}
}
