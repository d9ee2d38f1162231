package main

import (
	"context"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// A project on a docker-stacks image (jovyan 1000:100, whose home is the
// working directory and the folder Jupyter serves; the Dockerfile copies
// only requirements.txt, so tfdev syncs the project into that home),
// started twice in a row: ready both times; the project's notebook, synced
// by tfdev, is the container user's, so Jupyter saves it, and it comes
// home; and nothing of that user's own state in the home (Jupyter's
// runtime folder with its cookie secret, .jupyter, .ipython, .local) ever
// lands in the project folder, where the next start would sync it back.
func TestDockerStacksImage(t *testing.T) {
	eng := needEngine(t)
	api, err := testimage.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	if err := testimage.EnsureStacks(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "stacks")
	nb := `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`
	for name, body := range map[string]string{
		"Dockerfile": "ARG BASE=jupyter/scipy-notebook\nFROM ${BASE}\n" +
			"COPY requirements.txt /tmp/requirements.txt\nRUN pip install --no-index -r /tmp/requirements.txt\n",
		"requirements.txt": "numpy==1.24.2\n",
		"analysis.ipynb":   nb,
		"src/features.py":  "N = 1\n",
		".dockerignore":    ".tfdev\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	cleanupProject(t, dir)
	// explain takes the decision up takes: the notebook is synced into the
	// home folder (the base's command does not say what it serves).
	out, _, code := tfdev(t, "explain", "-C", dir, "--build-arg", "BASE="+testimage.Stacks, "analysis.ipynb")
	if code != 0 || !strings.Contains(out, "analysis.ipynb  sync → /home/jovyan/analysis.ipynb") {
		t.Errorf("tfdev explain: %d %q", code, out)
	}
	for run := 1; run <= 2; run++ {
		up := startUpWith(t, dir, testimage.Stacks, "--output", "json")
		ready, _ := up.nextEvent(event.Ready, nil)
		base, token := splitURL(t, ready.URL)
		if got := containerFile(t, eng, ready.Container, "/home/jovyan/src/features.py"); got != "N = 1\n" {
			t.Fatalf("run %d: the project is not in the home folder: %q", run, got)
		}
		out, err := eng.ExecOK(context.Background(), ready.Container, "stat", "-c", "%u:%g", "/home/jovyan/analysis.ipynb", "/home/jovyan/src", "/home/jovyan/src/features.py")
		if err != nil || strings.Fields(string(out))[0] != "1000:100" || strings.Count(string(out), "1000:100") != 3 {
			t.Errorf("run %d: the synced files are owned by %q (%v), want jovyan's 1000:100", run, out, err)
		}
		saved := `{"type": "notebook", "content": {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "run ` + string(rune('0'+run)) + `"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}`
		req, _ := http.NewRequest(http.MethodPut, base+"/api/contents/analysis.ipynb", strings.NewReader(saved))
		req.Header.Set("Authorization", "token "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("run %d: saving the project's notebook from Jupyter: %d", run, resp.StatusCode)
		} else {
			up.nextEvent(event.Rescue, func(e event.Event) bool { return strings.HasSuffix(e.To, "analysis.ipynb") })
		}
		up.stop()
		if run == 1 && !strings.Contains(strings.Join(up.seen, "\n"), "left alone in the container: /home/jovyan/.") {
			t.Errorf("run %d: tfdev did not say what it left alone in the home folder", run)
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(dir, p)
			for _, state := range []string{".local", ".jupyter", ".ipython", ".cache", ".config", "cookie_secret", "nbserver-", "jpserver-"} {
				if strings.Contains(rel, state) {
					t.Errorf("run %d: the container user's own state came home: %s", run, rel)
					return fs.SkipDir
				}
			}
			return nil
		})
	}
}

// An image that inherits its Jupyter command from the base (the
// tensorflow images' serves /tf) while the Dockerfile copies the code to
// another folder (WORKDIR /usr/src/app, COPY . .): tfdev serves the
// code's folder, says so and why, and the project's notebooks are in
// Jupyter; started twice in a row.
func TestInheritedCommandServingAnotherFolder(t *testing.T) {
	needEngine(t)
	dir := filepath.Join(t.TempDir(), "srcapp")
	for name, body := range map[string]string{
		"Dockerfile":                "ARG BASE=tensorflow/tensorflow:2.9.0-gpu-jupyter\nFROM ${BASE}\nWORKDIR /usr/src/app\nCOPY . .\n",
		"interactive/explore.ipynb": `{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`,
		"model.py":                  "N = 1\n",
		".dockerignore":             ".tfdev\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), body)
	}
	cleanupProject(t, dir)
	for run := 1; run <= 2; run++ {
		up := startUp(t, dir, "--output", "json")
		ready, before := up.nextEvent(event.Ready, nil)
		said := false
		for _, e := range before {
			said = said || e.Kind == event.Info && strings.Contains(e.Message, "serves /tf, which does not hold the project's code: tfdev starts jupyter notebook serving /usr/src/app")
		}
		if !said {
			t.Errorf("run %d: tfdev did not say it serves the code's folder", run)
		}
		base, token := splitURL(t, ready.URL)
		if code := statusCode(t, base+"/api/contents/interactive/explore.ipynb", token); code != http.StatusOK {
			t.Errorf("run %d: the project's notebook in Jupyter: %d", run, code)
		}
		up.stop()
	}
}
