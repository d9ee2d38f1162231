package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

type tasksFile struct {
	Tasks []struct {
		IsBackground   bool `json:"isBackground"`
		ProblemMatcher struct {
			Pattern struct {
				Regexp                      string `json:"regexp"`
				File, Line, Column, Message int
			} `json:"pattern"`
			Background struct {
				BeginsPattern string `json:"beginsPattern"`
				EndsPattern   string `json:"endsPattern"`
			} `json:"background"`
		} `json:"problemMatcher"`
	} `json:"tasks"`
}

// TestVSCodeTaskMatchesRealOutput runs the real binary and checks that the
// tasks.json shipped with the demo (and shown in docs/usage.md) recognises the
// lines it prints: build start, ready, and a Dockerfile error.
func TestVSCodeTaskMatchesRealOutput(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/demo/.vscode/tasks.json")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../docs/usage.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), strings.TrimSpace(string(raw))) {
		t.Error("docs/usage.md's tasks.json differs from testdata/demo/.vscode/tasks.json")
	}
	var tf tasksFile
	if err := json.Unmarshal(raw, &tf); err != nil {
		t.Fatal(err)
	}
	if len(tf.Tasks) != 1 || !tf.Tasks[0].IsBackground {
		t.Fatalf("tasks %+v", tf.Tasks)
	}
	pm := tf.Tasks[0].ProblemMatcher
	begins := regexp.MustCompile(pm.Background.BeginsPattern)
	ends := regexp.MustCompile(pm.Background.EndsPattern)
	problem := regexp.MustCompile(pm.Pattern.Regexp)

	needEngine(t)
	dir := copyDemo(t)
	up := startUp(t, dir)
	up.next("a line matching beginsPattern", begins.MatchString)
	up.next("a ready line matching endsPattern", func(l string) bool {
		return strings.HasPrefix(l, "tfdev: ready ") && ends.MatchString(l)
	})

	df := filepath.Join(dir, "Dockerfile")
	orig, _ := os.ReadFile(df)
	os.WriteFile(df, []byte(strings.Replace(string(orig), "WORKDIR /tf", "WORKDIR /tf\nCOPPY nothing /x", 1)), 0o644)
	line := up.next("a Dockerfile error line", problem.MatchString)
	m := problem.FindStringSubmatch(line)
	if m[pm.Pattern.File] != "Dockerfile" || m[pm.Pattern.Line] != "6" || m[pm.Pattern.Column] != "1" || !strings.Contains(m[pm.Pattern.Message], "COPPY") {
		t.Errorf("problem %q -> %q", line, m)
	}
	if !ends.MatchString(line) {
		t.Errorf("endsPattern does not end the task on an error: %q", line)
	}
	up.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-up.done; err != nil {
		t.Errorf("exit: %v", err)
	}
}
