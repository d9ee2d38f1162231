package watcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/moby/patternmatcher/ignorefile"
	"github.com/tonistiigi/fsutil"
)

// trickyTree is the tree every differential case runs against. A trailing
// "@target" makes a symlink.
var trickyTree = []string{
	"Dockerfile",
	".hidden",
	".git/HEAD",
	".git/objects/ab/cdef",
	"README.md",
	"a.pyc",
	"train.py",
	"requirements.txt",
	"src/a.pyc",
	"src/model.py",
	"src/__pycache__/model.cpython-39.pyc",
	"src/pkg/deep/x.py",
	"src/pkg/deep/y.txt",
	"data/big.bin",
	"data/raw/a.csv",
	"data/raw/b.py",
	"logs/run1.log",
	"notebooks/a.ipynb",
	"notebooks/keep.ipynb",
	"notebooks/sub/b.ipynb",
	"build",
	"dist/out.whl",
	"file with spaces.txt",
	"dir with space/x.py",
	"!bang.txt",
	"#hash.txt",
	"ünïcode.py",
	"q1.py",
	"q12.py",
	"qa.py",
	"tmp/.keep",
	"link@src/model.py",
	"dirlink@src",
	"dangling@nowhere",
}

// dockerignoreCases are .dockerignore contents, each compared path by path
// with the context BuildKit's own walker (fsutil) sends.
var dockerignoreCases = map[string]string{
	"empty":                     "",
	"root-only glob":            "*.pyc",
	"any-depth glob":            "**/*.pyc",
	"any-depth dir":             "**/__pycache__",
	"plain dir":                 "data",
	"trailing slash":            "data/",
	"leading slash":             "/data",
	"dot slash":                 "./data",
	"trailing doublestar":       "data/**",
	"everything":                "**",
	"star then exception":       "*\n!train.py",
	"star then dir exception":   "*\n!src",
	"doublestar py exception":   "**\n!**/*.py",
	"exception deep in dir":     "data\n!data/raw/b.py",
	"exception subdir":          "data\n!data/raw",
	"last match wins":           "src\n!src/pkg\nsrc/pkg/deep/y.txt",
	"re-exclude after except":   "*.py\n!train.py\ntrain.py",
	"question mark":             "q?.py",
	"char class":                "q[0-9].py",
	"negated class":             "[^q]*.py",
	"comments and blanks":       "# comment\n\n   \ndata\n  # not a comment\n",
	"crlf":                      "data\r\nlogs\r\n",
	"bom":                       "\ufeffdata\nlogs",
	"escaped bang":              "\\!bang.txt",
	"lone exception":            "!bang.txt",
	"space in file":             "file with spaces.txt",
	"space in dir":              "dir with space",
	"hidden":                    ".*",
	"git":                       ".git",
	"any-depth git":             "**/.git",
	"doublestar middle":         "src/**/*.py",
	"doublestar middle dir":     "src/**/deep",
	"doublestar both ends":      "**/deep/**",
	"notebook exception":        "notebooks/*.ipynb\n!notebooks/keep.ipynb",
	"dir pattern on file":       "build/",
	"dotdot":                    "../data",
	"dotdot inside":             "src/../data",
	"dockerfile and ignore":     "Dockerfile\n.dockerignore",
	"all but dockerfile":        "*\n!Dockerfile",
	"symlink":                   "link",
	"dir symlink":               "dirlink",
	"one level glob":            "*/*.pyc",
	"py except src":             "**/*.py\n!src/**",
	"non-ascii":                 "ünïcode.py",
	"hash is comment":           "#hash.txt",
	"escaped hash":              "\\#hash.txt",
	"padded":                    "   data   ",
	"star in dir with except":   "data/raw/*\n!data/raw/b.py",
	"glob exception in dir":     "src\n!src/pkg/deep/*.py",
	"only exception dir":        "!src",
	"exclude and except all":    "*.txt\n!*.txt",
	"ipynb except subdir":       "**/*.ipynb\n!notebooks/sub",
	"seed article":              "__pycache__\n*.pyc\n.git\n.vscode\n.idea\nlogs\ntmp\ndata\n.DS_Store\nnotebooks/*.ipynb",
	"exception reaches pruned":  "src/pkg\n!src/pkg/deep/x.py",
	"dangling link":             "dangling",
	"star matches dir and file": "d*",
}

func makeTree(t testing.TB, dir string, paths []string) {
	t.Helper()
	for _, p := range paths {
		target := ""
		if i := strings.Index(p, "@"); i >= 0 {
			p, target = p[:i], p[i+1:]
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target != "" {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildkitContext lists the context as BuildKit's fsutil walker sends it.
func buildkitContext(t testing.TB, dir string, patterns []string) ([]string, error) {
	t.Helper()
	var out []string
	err := fsutil.Walk(context.Background(), dir, &fsutil.FilterOpt{ExcludePatterns: patterns},
		func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0 {
				out = append(out, filepath.ToSlash(p))
			}
			return nil
		})
	sort.Strings(out)
	return out, err
}

func rels(es []ContextEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Rel)
	}
	return out
}

// allFiles lists every regular file and symlink under dir, ignoring nothing.
func allFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := ListContext(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rels(es)
}

func compareWithBuildKit(t *testing.T, dir, ignore string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(ignore), 0o644); err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(strings.NewReader(ignore))
	if err != nil {
		t.Fatal(err)
	}
	want, err := buildkitContext(t, dir, patterns)
	if err != nil {
		t.Fatalf("fsutil: %v", err)
	}

	di, err := LoadDockerIgnore(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ListContext(context.Background(), dir, di)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rels(got), want) {
		t.Errorf("context listing differs from BuildKit's\n.dockerignore: %q\n got: %q\nwant: %q", ignore, rels(got), want)
	}

	// The watcher asks path by path, in event order, with a cold cache:
	// every path must get the answer the walk gave.
	fresh, err := LoadDockerIgnore(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, p := range want {
		in[p] = true
	}
	files := allFiles(t, dir)
	for i := len(files) - 1; i >= 0; i-- { // reverse: deepest-first, unlike the walk
		p := files[i]
		if got := !fresh.Excluded(p, false); got != in[p] {
			t.Errorf(".dockerignore %q: Excluded(%q) = %v, BuildKit sends it: %v", ignore, p, !got, in[p])
		}
	}
}

func TestContextMatchesBuildKit(t *testing.T) {
	if len(dockerignoreCases) < 40 {
		t.Fatalf("only %d cases", len(dockerignoreCases))
	}
	dir := t.TempDir()
	makeTree(t, dir, trickyTree)
	for name, ignore := range dockerignoreCases {
		t.Run(name, func(t *testing.T) { compareWithBuildKit(t, dir, ignore) })
	}
}

func TestDockerignoreSemanticsDifferFromGitignore(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, trickyTree)
	di, err := NewDockerIgnore(".dockerignore", []string{"*.pyc", "build/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path     string
		excluded bool
	}{
		{"a.pyc", true},
		{"src/a.pyc", false}, // root only, unlike gitignore
		{"build", true},      // "build/" excludes a plain file in Docker
		{"src/model.py", false},
	} {
		if got := di.Excluded(c.path, false); got != c.excluded {
			t.Errorf("Excluded(%q) = %v, want %v", c.path, got, c.excluded)
		}
	}
}

func TestPrunedDirectoriesAreNotEntered(t *testing.T) {
	for _, c := range []struct {
		patterns []string
		skip     map[string]bool
	}{
		{[]string{"data", "src", "!src/keep.py"}, map[string]bool{
			"data":     true,
			"data/raw": true,
			"src":      false, // an exception points inside
			"src/pkg":  true,
			"train":    false,
		}},
		// A glob exception could match anywhere: fsutil enters every
		// excluded directory.
		{[]string{"data", "logs", "!logs/*.txt"}, map[string]bool{
			"data": false,
			"logs": false,
		}},
	} {
		di, err := NewDockerIgnore("", c.patterns)
		if err != nil {
			t.Fatal(err)
		}
		for dir, skip := range c.skip {
			if got := di.SkipDir(dir); got != skip {
				t.Errorf("%q: SkipDir(%q) = %v, want %v", c.patterns, dir, got, skip)
			}
		}
	}
}

func TestBadPatternNamesItsLine(t *testing.T) {
	_, err := ParseDockerIgnore(".dockerignore", strings.NewReader("# ok\n\ndata\n[\n"))
	var pe *PatternError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PatternError", err)
	}
	if pe.Line != 4 || pe.File != ".dockerignore" {
		t.Errorf("got %s:%d, want .dockerignore:4", pe.File, pe.Line)
	}
	if !strings.HasPrefix(err.Error(), ".dockerignore:4: ") {
		t.Errorf("message %q does not start with the location", err)
	}
}

// An exception that cannot compile fails BuildKit only once a pattern
// before it matches; tfdev refuses it up front, with its line.
func TestBadExceptionNamesItsLine(t *testing.T) {
	_, err := ParseDockerIgnore(".dockerignore", strings.NewReader("*yc\n!\\1\n"))
	var pe *PatternError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Fatalf("err = %v, want a PatternError at line 2", err)
	}
}

func TestDockerfileSpecificIgnoreWins(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, []string{"dev.Dockerfile", "a.txt", "b.txt"})
	if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("a.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev.Dockerfile.dockerignore"), []byte("b.txt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	di, err := LoadDockerIgnore(dir, "dev.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if di.File != "dev.Dockerfile.dockerignore" || di.Excluded("a.txt", false) || !di.Excluded("b.txt", false) {
		t.Errorf("file %q, a.txt excluded %v, b.txt excluded %v", di.File, di.Excluded("a.txt", false), di.Excluded("b.txt", false))
	}
	di, err = LoadDockerIgnore(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if di.File != ".dockerignore" || !di.Excluded("a.txt", false) {
		t.Errorf("plain Dockerfile: file %q, a.txt excluded %v", di.File, di.Excluded("a.txt", false))
	}
}

func TestWhyNamesTheDecidingLine(t *testing.T) {
	di, err := ParseDockerIgnore(".dockerignore", strings.NewReader("# c\ndata\n!data/keep.csv\n*.log\n"))
	if err != nil {
		t.Fatal(err)
	}
	for p, line := range map[string]int{"data/x.csv": 2, "data/keep.csv": 3, "a.log": 4, "train.py": 0} {
		i := di.Why(p, false)
		got := 0
		if i >= 0 {
			got = di.Lines[i]
		}
		if got != line {
			t.Errorf("Why(%q) line %d, want %d", p, got, line)
		}
	}
}

// FuzzContext compares the matcher with BuildKit's walker over generated
// trees and patterns.
func FuzzContext(f *testing.F) {
	for _, ignore := range dockerignoreCases {
		f.Add(ignore, "src/a.py\nsrc/b/c.pyc\ndata/x\na.pyc\n.git/HEAD\nnotebooks/n.ipynb")
	}
	f.Fuzz(func(t *testing.T, ignore, tree string) {
		if strings.ContainsRune(ignore, 0) {
			return
		}
		var paths []string
		for _, line := range strings.Split(tree, "\n") {
			if p := sanitizeFuzzPath(line); p != "" {
				paths = append(paths, p)
			}
			if len(paths) == 40 {
				break
			}
		}
		dir := t.TempDir()
		if !makeFuzzTree(dir, paths) {
			return
		}
		if _, err := ParseDockerIgnore(".dockerignore", strings.NewReader(ignore)); err != nil {
			return // we refuse bad patterns up front; Docker fails on them too
		}
		compareWithBuildKit(t, dir, ignore)
	})
}

// sanitizeFuzzPath keeps a path of at most 4 short components that can be
// created in any temp dir.
func sanitizeFuzzPath(s string) string {
	var parts []string
	for _, c := range strings.Split(s, "/") {
		c = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == '\\' {
				return -1
			}
			return r
		}, c)
		if c == "" || c == "." || c == ".." || len(c) > 20 {
			continue
		}
		parts = append(parts, c)
		if len(parts) == 4 {
			break
		}
	}
	return strings.Join(parts, "/")
}

// makeFuzzTree creates files; a path whose parent is already a file is
// skipped. It reports false when nothing could be made.
func makeFuzzTree(dir string, paths []string) bool {
	made := false
	for _, p := range append(paths, ".dockerignore") {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if os.MkdirAll(filepath.Dir(full), 0o755) != nil {
			continue
		}
		if fi, err := os.Lstat(full); err == nil && fi.IsDir() {
			continue
		}
		if os.WriteFile(full, nil, 0o644) == nil {
			made = true
		}
	}
	return made
}
