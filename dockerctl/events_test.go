package dockerctl

import (
	"strings"
	"testing"
)

func TestPlainLines(t *testing.T) {
	code := 137
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EvBuildStart, Reason: "requirements.txt changed"}, "tfdev: build started (requirements.txt changed)"},
		{Event{Kind: EvBuildStep, Index: 4, Total: 6, Instruction: "RUN pip install -r requirements.txt", State: "cached"}, "tfdev: step 4/6 RUN pip install -r requirements.txt ... cached"},
		{Event{Kind: EvBuildStep, Index: 6, Total: 6, Instruction: "COPY . /app", State: "done", Seconds: 0.25}, "tfdev: step 6/6 COPY . /app ... done (0.2s)"},
		{Event{Kind: EvBuildDone, Seconds: 3.2, Image: "sha256:0123456789abcdef", Builder: "buildkit"}, "tfdev: build done in 3.2s (0123456789ab, buildkit)"},
		{Event{Kind: EvReady, URL: "http://127.0.0.1:8888/?token=ab"}, "tfdev: ready http://127.0.0.1:8888/?token=ab"},
		{Event{Kind: EvSync, Files: 2, Bytes: 4100, Ms: 14}, "tfdev: synced 2 files (4.1 KB) in 14ms"},
		{Event{Kind: EvSync, Files: 1, Bytes: 12, Ms: 3, Removed: 1}, "tfdev: synced 1 file (12 B) in 3ms, removed 1"},
		{Event{Kind: EvRescue, From: "/tf/notebooks/a.ipynb", To: "notebooks/a.ipynb"}, "tfdev: rescued /tf/notebooks/a.ipynb -> notebooks/a.ipynb"},
		{Event{Kind: EvBuildFailed, File: "Dockerfile", Line: 7, Message: "RUN pip install -r requirements.txt: exit code 1", Log: []string{"ERROR: no match"}},
			"Dockerfile:7:1: error: RUN pip install -r requirements.txt: exit code 1\ntfdev:   | ERROR: no match"},
		{Event{Kind: EvContainerEnd, Container: "tfdev-demo-1", Code: &code}, "tfdev: container tfdev-demo-1 exited with code 137"},
		{Event{Kind: EvError, Message: "boom"}, "tfdev: error: boom"},
	} {
		if got := c.e.Plain(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.e.Kind, got, c.want)
		}
		if !strings.HasPrefix(c.e.Plain(), "tfdev: ") && c.e.Kind != EvBuildFailed {
			t.Errorf("%s: no tfdev: prefix", c.e.Kind)
		}
	}
}
