package engine

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/watcher"
)

// trickyTree: names a context walker can get wrong. "@target" makes a symlink.
var trickyTree = []string{
	"Dockerfile", ".hidden", ".git/HEAD", "README.md", "a.pyc", "train.py", "requirements.txt",
	"src/a.pyc", "src/model.py", "src/__pycache__/m.pyc", "src/pkg/deep/x.py", "src/pkg/deep/y.txt",
	"data/big.bin", "data/raw/a.csv", "data/raw/b.py", "logs/run1.log",
	"notebooks/a.ipynb", "notebooks/keep.ipynb", "notebooks/sub/b.ipynb",
	"build", "file with spaces.txt", "dir with space/x.py", "!bang.txt", "#hash.txt", "ünïcode.py",
	"q1.py", "tmp/.keep", "link@src/model.py", "dirlink@src", "dangling@nowhere",
}

func makeTree(t *testing.T, dir string, paths []string) {
	t.Helper()
	for _, p := range paths {
		if i := strings.Index(p, "@"); i >= 0 {
			full := filepath.Join(dir, p[:i])
			os.MkdirAll(filepath.Dir(full), 0o755)
			if err := os.Symlink(p[i+1:], full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		writeFile(t, dir, p, p)
	}
}

// imageFiles lists the regular files and symlinks under prefix in an image,
// read back through the Engine API (create a container, export it).
func imageFiles(t *testing.T, ref, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	c, err := testEngine.api.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"none"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer testEngine.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	rc, err := testEngine.api.ContainerExport(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if !strings.HasPrefix(name, prefix) || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeSymlink) {
			continue
		}
		out = append(out, strings.TrimPrefix(name, prefix))
	}
	sort.Strings(out)
	return out
}

// TestContextMatchesARealBuild builds FROM scratch + COPY . /ctx with
// BuildKit from tricky trees and compares the image's files, and what
// BuildKit's own filter kept in the session, with what `tfdev context`
// lists. An excluded Dockerfile stays out of the image, as with docker
// build (the session sends the Dockerfile apart from the context).
func TestContextMatchesARealBuild(t *testing.T) {
	requireEngine(t)
	for name, ignore := range map[string]string{
		"seed article":          "__pycache__\n*.pyc\n.git\n.vscode\n.idea\nlogs\ntmp\ndata\n.DS_Store\nnotebooks/*.ipynb\n",
		"exceptions under **":   "**\n!**/*.py\n!Dockerfile\n",
		"exception in excluded": "data\n!data/raw/b.py\n*.pyc\nbuild/\n\\!bang.txt\n",
		"none":                  "",
		"Dockerfile excluded":   "Dockerfile\n.dockerignore\n*.pyc\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			makeTree(t, dir, trickyTree)
			writeFile(t, dir, "Dockerfile", "FROM scratch\nCOPY . /ctx\n")
			writeFile(t, dir, ".dockerignore", ignore)
			p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := watcher.ListContext(context.Background(), dir, p.Rules.Ignore)
			if err != nil {
				t.Fatal(err)
			}
			ref := "tfdev-test/ctx:" + nonce(t)
			removeImageOnCleanup(t, ref)
			res, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit})
			if err != nil {
				t.Fatal(err)
			}
			if res.Builder != model.BuilderBuildKit || res.ContextVia != ContextViaSession {
				t.Fatalf("built with %s, the context as %s", res.Builder, res.ContextVia)
			}
			got := imageFiles(t, ref, "ctx/")
			var wantRels []string
			for _, e := range want {
				wantRels = append(wantRels, e.Rel)
			}
			if !slices.Equal(got, wantRels) {
				t.Errorf("image has\n %q\ntfdev context lists\n %q", got, wantRels)
			}
			if !slices.Equal(res.Context, wantRels) {
				t.Errorf("BuildKit's filter kept\n %q\ntfdev context lists\n %q", res.Context, wantRels)
			}
		})
	}
}
