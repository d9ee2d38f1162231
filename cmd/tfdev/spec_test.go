package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/runspec"
)

// Precedence: flags > tfdev.toml > compose > devcontainer > the Dockerfile
// alone, for the Dockerfile, the build args, the GPUs and the port.
func TestSpecPrecedence(t *testing.T) {
	files := map[string]string{
		"Dockerfile": "FROM x:1\n", "Dockerfile.compose": "FROM x:1\n", "Dockerfile.dev": "FROM x:1\n", "Dockerfile.toml": "FROM x:1\n",
		"compose.yaml": "services:\n  nb:\n    build:\n      context: .\n      dockerfile: Dockerfile.compose\n      args: {A: compose, B: compose}\n" +
			"    ports: [\"8890:8888\"]\n    gpus: all\n",
		".devcontainer/devcontainer.json": `{"build": {"dockerfile": "../Dockerfile.dev", "context": ".."}}`,
	}
	for _, c := range []struct {
		name       string
		drop       []string // files removed
		toml       string
		args       []string
		dockerfile string
		buildArgs  []string
		gpus       string
		port       int
	}{
		{"compose over devcontainer", nil, "", nil, "Dockerfile.compose", []string{"A=compose", "B=compose"}, "all", 8890},
		{"devcontainer over the Dockerfile", []string{"compose.yaml"}, "", nil, "Dockerfile.dev", nil, "auto", 8888},
		{"the Dockerfile alone", []string{"compose.yaml", ".devcontainer/devcontainer.json"}, "", nil, "Dockerfile", nil, "auto", 8888},
		{"tfdev.toml over compose", nil, "file = \"Dockerfile.toml\"\ngpus = \"none\"\nport = 9000\n", nil, "Dockerfile.toml", []string{"A=compose", "B=compose"}, "none", 9000},
		{"flags over all", nil, "file = \"Dockerfile.toml\"\n", []string{"-f", "Dockerfile", "--build-arg", "A=flag", "--gpus", "0", "--port", "9001"},
			"Dockerfile", []string{"A=flag", "B=compose"}, "0", 9001},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, body := range files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
				os.WriteFile(filepath.Join(dir, rel), []byte(body), 0o644)
			}
			for _, rel := range c.drop {
				os.Remove(filepath.Join(dir, rel))
			}
			if c.toml != "" {
				os.WriteFile(filepath.Join(dir, "tfdev.toml"), []byte(c.toml), 0o644)
			}
			var f upFlags
			cmd := &cobra.Command{Use: "up"}
			f.registerUp(cmd)
			if err := cmd.ParseFlags(append([]string{"-C", dir}, c.args...)); err != nil {
				t.Fatal(err)
			}
			if err := applyConfig(cmd, dir); err != nil {
				t.Fatal(err)
			}
			spec, err := f.projectSpec()
			if err != nil {
				t.Fatal(err)
			}
			opts := dockerctl.SessionOptions{Dockerfile: f.dockerfile, BuildArgs: buildArgs(f.buildArgs), GPUs: f.gpus, Port: f.port}
			applySpec(cmd, &opts, spec)
			var args []string
			for k, v := range opts.BuildArgs {
				args = append(args, k+"="+v)
			}
			slices.Sort(args)
			if opts.Dockerfile != c.dockerfile || !slices.Equal(args, c.buildArgs) || opts.GPUs != c.gpus || opts.Port != c.port {
				t.Errorf("Dockerfile %s, args %q, gpus %s, port %d; want %s %q %s %d", opts.Dockerfile, args, opts.GPUs, opts.Port, c.dockerfile, c.buildArgs, c.gpus, c.port)
			}
		})
	}
}

// A GPU request from compose or devcontainer.json is tfdev's --gpus: on an
// Engine with GPUs it becomes the container's DeviceRequests.
func TestSpecGPUsBecomeDeviceRequests(t *testing.T) {
	gpus := model.GPUSupport{Available: true, Why: "nvidia runtime"}
	for spec, want := range map[string]string{"all": "count -1", "2": "count 2", "0,1": "ids [0 1]"} {
		reqs, err := engine.GPURequest((&runspec.Spec{GPUs: spec}).GPUs, gpus)
		if err != nil || len(reqs) != 1 || !slices.Equal(reqs[0].Capabilities[0], []string{"gpu"}) {
			t.Fatalf("%s: %+v %v", spec, reqs, err)
		}
		got := "count " + strconv.Itoa(reqs[0].Count)
		if len(reqs[0].DeviceIDs) > 0 {
			got = "ids [" + reqs[0].DeviceIDs[0] + " " + reqs[0].DeviceIDs[1] + "]"
		}
		if got != want {
			t.Errorf("%s: %s, want %s", spec, got, want)
		}
	}
}

// Plain output says how a pull goes at most every 5 s, and once more when
// its FROM step ends (not at another event's line); JSON output gives
// every build.pull event.
func TestPullLines(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var buf strings.Builder
	emit := eventPrinter(&buf, "plain")
	for sec := 0; sec <= 12; sec++ {
		emit(event.Event{Kind: event.BuildPull, Time: t0.Add(time.Duration(sec) * time.Second), Index: 2, Image: "FROM ${BASE}",
			Layer: "sha256:aa", Current: int64(sec) * 10e6, Total: 120e6})
		if sec == 6 { // a word of something else: the pull goes on
			emit(event.Event{Kind: event.Info, Time: t0.Add(6 * time.Second), Message: "a note"})
		}
	}
	emit(event.Event{Kind: event.BuildStep, Time: t0.Add(13 * time.Second), Index: 2, Total: 6, Instruction: "FROM ${BASE}", State: event.StepDone})
	want := "tfdev: pulling FROM ${BASE}: 50.0 MB of 120.0 MB (41%), 10.0 MB/s, about 7s left\n" +
		"tfdev: a note\n" +
		"tfdev: pulling FROM ${BASE}: 100.0 MB of 120.0 MB (83%), 10.0 MB/s, about 2s left\n" +
		"tfdev: pulled FROM ${BASE}: 120.0 MB of 120.0 MB (100%), 10.0 MB/s\n" +
		"tfdev: step 2/6 FROM ${BASE} ... done\n"
	if buf.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", buf.String(), want)
	}
	var js strings.Builder
	emit = eventPrinter(&js, "json")
	for sec := 0; sec < 3; sec++ {
		emit(event.Event{Kind: event.BuildPull, Time: t0.Add(time.Duration(sec) * time.Second), Index: 2, Layer: "sha256:aa", Current: 1, Total: 2})
	}
	if n := strings.Count(js.String(), `"event":"build.pull"`); n != 3 || !strings.Contains(js.String(), `"layer":"sha256:aa","current":1`) {
		t.Errorf("json: %d events\n%s", n, js.String())
	}
}
