package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func upFlagsFrom(t *testing.T, dir string, args ...string) (*upFlags, error) {
	t.Helper()
	var f upFlags
	cmd := &cobra.Command{Use: "up"}
	f.registerUp(cmd)
	if err := cmd.ParseFlags(append([]string{"-C", dir}, args...)); err != nil {
		t.Fatal(err)
	}
	return &f, applyConfig(cmd, dir)
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tfdev.toml"), []byte("port = 9001\ngpus = \"none\"\nbuilder = \"legacy\"\ndebounce = \"50ms\"\nbuild-arg = { BASE = \"from-file\" }\n"), 0o644)
	t.Setenv("TFDEV_GPUS", "all")
	t.Setenv("TFDEV_BUILDER", "buildkit")
	f, err := upFlagsFrom(t, dir, "--builder", "auto")
	if err != nil {
		t.Fatal(err)
	}
	if f.port != 9001 || f.debounce.String() != "50ms" {
		t.Errorf("from the file: port %d debounce %v", f.port, f.debounce)
	}
	if f.gpus != "all" {
		t.Errorf("the environment should beat the file: gpus %q", f.gpus)
	}
	if f.builder != "auto" {
		t.Errorf("a flag should beat the environment: builder %q", f.builder)
	}
	if len(f.buildArgs) != 1 || f.buildArgs[0] != "BASE=from-file" {
		t.Errorf("build args %q", f.buildArgs)
	}
}

func TestConfigFromPyproject(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pyproject.toml"), []byte("[project]\nname = \"x\"\n\n[tool.tfdev]\nport = 9002\nkeep = true\n"), 0o644)
	f, err := upFlagsFrom(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.port != 9002 || !f.keep {
		t.Errorf("port %d keep %v", f.port, f.keep)
	}
}

func TestConfigUnknownKeyNamesKeyAndFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tfdev.toml"), []byte("prot = 9001\n"), 0o644)
	_, err := upFlagsFrom(t, dir)
	var ue usageError
	if err == nil || !strings.Contains(err.Error(), `"prot"`) || !strings.Contains(err.Error(), "tfdev.toml") || !asUsage(err, &ue) {
		t.Errorf("err = %v", err)
	}
	if _, _, code := tfdev(t, "up", "-C", dir); code != 2 {
		t.Errorf("tfdev up with a bad config: exit %d, want 2", code)
	}
}

// The host user's ids go to the ARGs named for them that the build is not
// given; root's do not, and that is said.
func TestHostIDArgs(t *testing.T) {
	dir := t.TempDir()
	df := "FROM b\nARG USER_ID\nARG group_id\nARG UID=1000\nARG OTHER\nRUN addgroup --gid $group_id user\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	args, note := hostIDArgs(dir, "Dockerfile", map[string]string{"UID": "7"}, 1001, 1002)
	if len(args) != 2 || args["USER_ID"] != "1001" || args["group_id"] != "1002" {
		t.Errorf("args %v", args)
	}
	if note != "build args from your user: USER_ID=1001 group_id=1002 (--host-ids=false leaves them out)" {
		t.Errorf("note %q", note)
	}
	args, note = hostIDArgs(dir, "Dockerfile", nil, 0, 0)
	if args != nil || !strings.Contains(note, "you run tfdev as root") || !strings.Contains(note, "UID, USER_ID, group_id") {
		t.Errorf("as root: %v %q", args, note)
	}
}
