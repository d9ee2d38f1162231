package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tfdev(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestContextCommand(t *testing.T) {
	want := ".dockerignore\nDockerfile\nnotebooks/explore.ipynb\nrequirements.txt\ntrain.py\n"
	for _, args := range [][]string{{"context", "../../testdata/demo"}, {"context", "-C", "../../testdata/demo"}} {
		out, stderr, code := tfdev(t, args...)
		if code != 0 || out != want {
			t.Errorf("%q: exit %d, stderr %q\n got %q\nwant %q", args, code, stderr, out, want)
		}
	}
	if _, stderr, code := tfdev(t, "context", "-C", "../../testdata/demo", "../../testdata/seed-bad"); code != 2 || !strings.Contains(stderr, "give the directory once") {
		t.Errorf("two directories: exit %d %q", code, stderr)
	}
}

func TestContextBadPatternExits2(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("ok\n[\n"), 0o644)
	_, stderr, code := tfdev(t, "context", dir)
	if code != 2 || !strings.Contains(stderr, ".dockerignore:2:") {
		t.Errorf("exit %d, stderr %q; want 2 and .dockerignore:2", code, stderr)
	}
}

func TestExplainJSON(t *testing.T) {
	out, stderr, code := tfdev(t, "explain", "-C", "../../testdata/demo", "--output", "json",
		"train.py", "requirements.txt", "data/sample.csv", "nothing/reads.me")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	type row struct {
		Path, Action, Dest, Reason, Deps string
		Line                             int
	}
	var rows []row
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		rows = append(rows, r)
	}
	want := []row{
		{Path: "train.py", Action: "sync", Dest: "/tf/train.py", Line: 12},
		{Path: "requirements.txt", Action: "rebuild", Line: 8, Deps: "live"},
		{Path: "data/sample.csv", Action: "ignore", Line: 10},
		{Path: "nothing/reads.me", Action: "sync", Dest: "/tf/nothing/reads.me", Line: 12},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows: %s", len(rows), out)
	}
	for i, w := range want {
		g := rows[i]
		if g.Path != w.Path || g.Action != w.Action || g.Dest != w.Dest || g.Line != w.Line || g.Reason == "" || g.Deps != w.Deps {
			t.Errorf("row %d: got %+v, want %+v with a reason", i, g, w)
		}
	}
}

// explain's live-install verdicts: live for the seed's good shape, with
// the steps it replays; rebuild, with why, for the Dockerfile itself, a
// secret mount, and a file an earlier stage reads.
func TestExplainDepsVerdicts(t *testing.T) {
	for _, c := range []struct {
		dockerfile, path, want string
	}{
		{"FROM b\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\nCOPY . /tf\n", "requirements.txt",
			"with --deps live: live: installed in the running container (its kernels live on) by Dockerfile:2 COPY requirements.txt /tmp/, then Dockerfile:3 RUN pip install -r /tmp/requirements.txt, then Dockerfile:4 COPY . /tf; the image is rebuilt behind it and the container is not replaced"},
		{"FROM b\nCOPY . /tf\n", "Dockerfile", "with --deps live: rebuild: Dockerfile changed: every step may differ"},
		{"FROM b\nCOPY requirements.txt /tmp/\nRUN --mount=type=secret,id=pip pip install -r /tmp/requirements.txt\nCOPY . /tf\n", "requirements.txt",
			"with --deps live: rebuild: Dockerfile:3: RUN --mount=type=secret cannot run outside a build"},
		{"FROM b AS deps\nCOPY requirements.txt .\nRUN pip wheel -r requirements.txt\nFROM b\nCOPY --from=deps / /w\nCOPY . /tf\n", "requirements.txt",
			`with --deps live: rebuild: Dockerfile:2: it feeds build stage "deps"`},
		{"FROM b\nCOPY . /tf\n", "train.py", "running kernels: the kernels that imported module train reload it before their next cell (tfdev tells them after the sync; --autoreload=false leaves it to you)"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(c.dockerfile), 0o644)
		os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy\n"), 0o644)
		out, stderr, code := tfdev(t, "explain", "-C", dir, c.path)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		got := ""
		if len(lines) > 1 {
			got = strings.TrimSpace(lines[1])
		}
		if code != 0 || got != c.want {
			t.Errorf("%s with\n%s: exit %d %s\n got %q\nwant %q", c.path, c.dockerfile, code, stderr, got, c.want)
		}
	}
}

func TestExplainSaysTheSeedDockerfileDefeatsTheCache(t *testing.T) {
	out, _, code := tfdev(t, "explain", "-C", "../../testdata/seed-bad", "train.py")
	if code != 0 || !strings.Contains(out, "rebuild") || !strings.Contains(out, "defeats the layer cache") {
		t.Errorf("exit %d: %s", code, out)
	}
}

func TestBadProjectInputExits2(t *testing.T) {
	dir := t.TempDir()
	_, stderr, code := tfdev(t, "explain", "-C", dir, "x")
	if code != 2 || !strings.Contains(stderr, "no Dockerfile") || !strings.Contains(stderr, "-f") {
		t.Errorf("missing Dockerfile: exit %d, %q", code, stderr)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY\n"), 0o644)
	_, stderr, code = tfdev(t, "explain", "-C", dir, "x")
	if code != 2 || !strings.Contains(stderr, "Dockerfile:2:") {
		t.Errorf("broken Dockerfile: exit %d, %q", code, stderr)
	}
	_, _, code = tfdev(t, "explain", "--no-such-flag")
	if code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
}
