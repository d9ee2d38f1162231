package dockerfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/watcher"
)

func replayFor(t *testing.T, src string, opts Options, changed ...string) (*Replay, error) {
	t.Helper()
	m, err := Parse(strings.NewReader(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	di, _ := watcher.NewDockerIgnore(".dockerignore", nil)
	return m.Replay(changed, m.Rules("Dockerfile", di, nil))
}

// describe writes a plan on one line per step, for comparison.
func describe(r *Replay) string {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%d %s", s.Line, s.Kind)
		for _, c := range s.Copies {
			fmt.Fprintf(&b, " %s->%s", c.Source, c.Dest)
		}
		if s.Kind == "RUN" {
			fmt.Fprintf(&b, " %q wd=%s user=%s env=%v", s.Args, s.Workdir, s.User, s.Env)
		}
		for _, c := range s.Binds {
			fmt.Fprintf(&b, " bind %s->%s", c.Source, c.Dest)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestReplayPlans(t *testing.T) {
	for _, c := range []struct {
		name, src string
		opts      Options
		changed   []string
		want      string
	}{
		{
			name:    "the seed's shape: copy the requirements, install, and the later COPY . gets the file too",
			src:     "FROM base\nWORKDIR /tf\nCOPY requirements.txt /tmp/requirements.txt\nRUN pip install -r /tmp/requirements.txt\nCOPY . /tf\n",
			changed: []string{"requirements.txt"},
			want: "3 COPY requirements.txt->/tmp/requirements.txt\n" +
				`4 RUN ["/bin/sh" "-c" "pip install -r /tmp/requirements.txt"] wd=/tf user= env=[]` + "\n" +
				"5 COPY requirements.txt->/tf/requirements.txt\n",
		},
		{
			name: "ENV between two RUNs, a WORKDIR change, USER, ARG from --build-arg, exec form",
			src: "ARG PIP=pip\nFROM base\nARG PIP\nARG EXTRA=none\nCOPY requirements.txt /deps/\nENV A=1\nRUN $PIP install -r /deps/requirements.txt\n" +
				"ENV A=2\nWORKDIR /deps\nUSER jovyan\nRUN [\"python3\", \"-c\", \"print(1)\"]\nCOPY src/ /app/\n",
			opts:    Options{BuildArgs: map[string]string{"EXTRA": "gpu"}},
			changed: []string{"requirements.txt"},
			want: "5 COPY requirements.txt->/deps/requirements.txt\n" +
				`7 RUN ["/bin/sh" "-c" "$PIP install -r /deps/requirements.txt"] wd=/ user= env=[PIP=pip EXTRA=gpu A=1]` + "\n" +
				`11 RUN ["python3" "-c" "print(1)"] wd=/deps user=jovyan env=[PIP=pip EXTRA=gpu A=2]` + "\n",
		},
		{
			name:    "SHELL and a cache mount (run without it)",
			src:     "FROM base\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nCOPY requirements.txt .\nRUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt\nCOPY . .\n",
			changed: []string{"requirements.txt"},
			want: "3 COPY requirements.txt->/requirements.txt\n" +
				`4 RUN ["/bin/bash" "-o" "pipefail" "-c" "pip install -r requirements.txt"] wd=/ user= env=[]` + "\n" +
				"5 COPY requirements.txt->/requirements.txt\n",
		},
		{
			name:    "the bind-mount form: the RUN reads the file itself",
			src:     "FROM base\nWORKDIR /w\nRUN --mount=type=bind,source=requirements.txt,target=/tmp/req.txt pip install -r /tmp/req.txt\nCOPY . .\n",
			changed: []string{"requirements.txt"},
			want: `3 RUN ["/bin/sh" "-c" "pip install -r /tmp/req.txt"] wd=/w user= env=[] bind requirements.txt->/tmp/req.txt` + "\n" +
				"4 COPY requirements.txt->/w/requirements.txt\n",
		},
		{
			name:    "a base from an earlier stage: its WORKDIR, ENV and USER carry over",
			src:     "FROM img AS base\nENV PYTHONUNBUFFERED=1\nWORKDIR /srv\nUSER app\nFROM base\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
			changed: []string{"requirements.txt"},
			want: "6 COPY requirements.txt->/srv/requirements.txt\n" +
				`7 RUN ["/bin/sh" "-c" "pip install -r requirements.txt"] wd=/srv user=app env=[PYTHONUNBUFFERED=1]` + "\n" +
				"8 COPY requirements.txt->/srv/requirements.txt\n",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := replayFor(t, c.src, c.opts, c.changed...)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(r); got != c.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestReplayRefusals(t *testing.T) {
	for _, c := range []struct {
		name, src string
		changed   []string
		line      int
		why       string
	}{
		{"a secret mount", "FROM base\nCOPY requirements.txt .\nRUN --mount=type=secret,id=pip pip install -r requirements.txt\nCOPY . .\n",
			[]string{"requirements.txt"}, 3, "RUN --mount=type=secret cannot run outside a build"},
		{"an ssh mount", "FROM base\nCOPY requirements.txt .\nRUN --mount=type=ssh pip install -r requirements.txt\nCOPY . .\n",
			[]string{"requirements.txt"}, 3, "RUN --mount=type=ssh cannot run outside a build"},
		{"a change that feeds an earlier stage", "FROM base AS deps\nCOPY requirements.txt .\nRUN pip wheel -r requirements.txt\nFROM base\nCOPY --from=deps /wheels /wheels\nCOPY . .\n",
			[]string{"requirements.txt"}, 2, `it feeds build stage "deps"`},
		{"the Dockerfile itself", "FROM base\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY . .\n",
			[]string{"Dockerfile"}, 0, "Dockerfile changed: every step may differ"},
		{".dockerignore", "FROM base\nCOPY . .\nRUN make\n",
			[]string{".dockerignore"}, 0, ".dockerignore changed: every step may differ"},
		{"ADD of an archive", "FROM base\nADD deps.tar.gz /opt/\nRUN pip install /opt/deps/*.whl\nCOPY . .\n",
			[]string{"deps.tar.gz"}, 2, "ADD extracts this archive"},
		{"a bind mount from another stage after the change", "FROM base AS b\nRUN touch /x\nFROM base\nCOPY requirements.txt .\nRUN --mount=type=bind,from=b,target=/b pip install -r requirements.txt\nCOPY . .\n",
			[]string{"requirements.txt"}, 5, "RUN --mount=type=bind,from=b cannot run outside a build"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := replayFor(t, c.src, Options{}, c.changed...)
			var nr *NotReplayable
			if !errors.As(err, &nr) || nr.Line != c.line || nr.Why != c.why {
				t.Errorf("got %v (%+v); want line %d %q", err, nr, c.line, c.why)
			}
		})
	}
}
