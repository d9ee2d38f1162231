package watcher

import (
	"strings"
	"testing"
)

// seedRules are the rules of the seed article's recommended Dockerfile,
// written out by hand so the classifier is tested without the parser.
func seedRules(t *testing.T) Rules {
	t.Helper()
	di, err := NewDockerIgnore(".dockerignore", []string{"**/__pycache__", "*.pyc", ".git", "logs", "data"})
	if err != nil {
		t.Fatal(err)
	}
	return Rules{
		Dockerfile: "Dockerfile",
		Always:     []string{"Dockerfile", "Dockerfile.dockerignore", ".dockerignore"},
		Steps: []Rule{
			{Source: "requirements.txt", Dest: "/app", DestDir: true, Action: Rebuild, Line: 3, Step: "COPY requirements.txt /app/"},
			{Source: ".", Dest: "/app", DestDir: true, Action: Sync, Line: 5, Step: "COPY . /app"},
		},
		Ignore:   di,
		Triggers: NewTriggerFilter("checkpoints/"),
	}
}

func TestClassify(t *testing.T) {
	rules := seedRules(t)
	batch := []Change{
		{Path: "train.py"},
		{Path: "src/model.py", Op: Removed},
		{Path: "requirements.txt"},
		{Path: "data/x.csv"},
		{Path: "a.pyc"},
		{Path: "src/b.pyc"},
		{Path: ".git/index"},
		{Path: "checkpoints/ckpt-1"},
		{Path: ".train.py.swp"},
		{Path: "src/new", IsDir: true},
	}
	p := Classify(batch, rules)
	var sync []string
	for _, s := range p.Sync {
		sync = append(sync, s.Path+"→"+s.Dest+":"+s.Op.String())
	}
	want := "train.py→/app/train.py:changed src/model.py→/app/src/model.py:removed src/b.pyc→/app/src/b.pyc:changed src/new→/app/src/new:changed"
	if got := strings.Join(sync, " "); got != want {
		t.Errorf("sync:\n got %s\nwant %s", got, want)
	}
	if !p.NeedsRebuild() || len(p.Rebuild) != 1 || p.Rebuild[0].Path != "requirements.txt" || p.Rebuild[0].Line != 3 {
		t.Errorf("rebuild = %+v", p.Rebuild)
	}
	if len(p.Ignored) != 5 {
		t.Errorf("ignored = %+v", p.Ignored)
	}
}

func TestDecideReasons(t *testing.T) {
	rules := seedRules(t)
	for _, c := range []struct {
		path   string
		isDir  bool
		action Action
		reason string
	}{
		{"Dockerfile", false, Rebuild, "Dockerfile changed"},
		{".dockerignore", false, Rebuild, ".dockerignore changed"},
		{"../elsewhere.py", false, Ignore, "outside the build context"},
		{"logs/a.log", false, Ignore, "excluded by .dockerignore:4 (logs)"},
		{"src/__pycache__", true, Ignore, "excluded by .dockerignore:1 (**/__pycache__)"},
		{".git/HEAD", false, Ignore, "inside .git"},
		{"checkpoints", true, Ignore, "listed in .tfdevignore"},
		{"checkpoints/a/b", false, Ignore, "listed in .tfdevignore"},
		{"4913", false, Ignore, "an editor's temporary file"},
		{"model.py~", false, Ignore, "an editor's temporary file"},
		{"src/.#model.py", false, Ignore, "an editor's temporary file"},
		{"src/#model.py#", false, Ignore, "an editor's temporary file"},
		{"model.py___jb_tmp___", false, Ignore, "an editor's temporary file"},
		{"model.py___jb_old___", false, Ignore, "an editor's temporary file"},
		{".model.py.swx", false, Ignore, "an editor's temporary file"},
		{"swap.swp", false, Sync, ""},                                  // not a vim swap name: no leading dot
		{"src/sedX3kq9Z", false, Ignore, "an editor's temporary file"}, // sed -i
		{"sed.py", false, Sync, ""},
		{"sedimentary", false, Sync, ""},
	} {
		d := Decide(c.path, c.isDir, rules)
		if d.Action != c.action || !strings.Contains(d.Reason, c.reason) {
			t.Errorf("%s: %v %q, want %v %q", c.path, d.Action, d.Reason, c.action, c.reason)
		}
	}
}

func TestDecisionString(t *testing.T) {
	rules := seedRules(t)
	got := Decide("train.py", false, rules).String()
	if want := "train.py  sync → /app/train.py  (Dockerfile:5 COPY . /app)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestHostPathFor(t *testing.T) {
	rules := Rules{Steps: []Rule{
		{Source: "requirements.txt", Dest: "/tmp/requirements.txt", Action: Rebuild},
		{Source: "conf.yaml", Dest: "/etc/app.yaml", Action: Sync},
		{Source: "src", Dest: "/app/src", DestDir: true, Action: Sync},
		{Source: ".", Dest: "/tf", DestDir: true, Action: Sync},
	}}
	for p, want := range map[string]string{
		"/tf/notebooks/a.ipynb": "notebooks/a.ipynb",
		"/app/src/x/y.py":       "src/x/y.py",
		"/etc/app.yaml":         "conf.yaml",
		"/tmp/requirements.txt": "",
		"/elsewhere/x":          "",
	} {
		got, ok := HostPath(p, rules)
		if got != want || ok != (want != "") {
			t.Errorf("%s: %q %v, want %q", p, got, ok, want)
		}
	}
}

func TestSyncDestWhateverDecidesFirst(t *testing.T) {
	rules := Rules{Steps: []Rule{
		{Source: "requirements.txt", Dest: "/tmp/requirements.txt", Action: Rebuild},
		{Source: ".", Dest: "/tf", DestDir: true, Action: Sync},
	}}
	for rel, want := range map[string]string{"requirements.txt": "/tf/requirements.txt", "src/a.py": "/tf/src/a.py"} {
		if got, ok := SyncDest(rel, rules); !ok || got != want {
			t.Errorf("%s: %q %v, want %q", rel, got, ok, want)
		}
	}
	if _, ok := SyncDest("x.py", Rules{Steps: rules.Steps[:1]}); ok {
		t.Error("a rebuild-only rule gave a sync destination")
	}
}

// Two mounts that both cover a path (compose's `.:/work` and
// `./images:/data/images`) both show it in the container: a sync puts it
// in each; a path only one covers goes there alone.
func TestOverlappingMountsSyncToEach(t *testing.T) {
	rules := Rules{Mounts: []Rule{
		{Source: ".", Dest: "/work", DestDir: true, Action: Sync, File: "compose.jupyter.yaml"},
		{Source: "images", Dest: "/data/images", DestDir: true, Action: Sync, File: "compose.jupyter.yaml"},
	}}
	plan := Classify([]Change{{Path: "images/cat.png"}, {Path: "model.py"}}, rules)
	var got []string
	for _, it := range plan.Sync {
		got = append(got, it.Path+" -> "+it.Dest)
	}
	want := []string{"images/cat.png -> /work/images/cat.png", "images/cat.png -> /data/images/cat.png", "model.py -> /work/model.py"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("sync:\n got %v\nwant %v", got, want)
	}
}
