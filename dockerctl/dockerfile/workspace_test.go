package dockerfile

import (
	"fmt"
	"strings"
	"testing"
)

// Jupyter's folder comes from the command that will really run: a folder
// flag in any form, else the folder the command starts in.
func TestServedDirFromTheImagesOwnCommand(t *testing.T) {
	base := func(string) string { return "/tf" }
	for _, c := range []struct {
		name, dockerfile string
		run              []string
		want             string
	}{
		{"shell form, no folder", "FROM b\nWORKDIR /app/\nCMD jupyter notebook --ip 0.0.0.0 --allow-root --no-browser\n", nil, "/app"},
		{"exec form with a flag", "FROM b\nWORKDIR /app\nCMD [\"jupyter\", \"lab\", \"--ServerApp.root_dir=/work\"]\n", nil, "/work"},
		{"bash -c wrapper", "FROM b\nWORKDIR /srv\nCMD [\"bash\", \"-c\", \"pip list && jupyter notebook --NotebookApp.notebook_dir /nb\"]\n", nil, "/nb"},
		{"entrypoint and cmd", "FROM b\nWORKDIR /code\nENTRYPOINT [\"jupyter\"]\nCMD [\"notebook\", \"--ip=0.0.0.0\"]\n", nil, "/code"},
		{"compose command first", "FROM b\nWORKDIR /app\nCMD jupyter notebook\n", []string{"jupyter", "lab", "--notebook-dir=/data"}, "/data"},
		{"not Jupyter: the base says", "FROM b\nWORKDIR /app\nCMD [\"python\", \"train.py\"]\n", nil, "/tf"},
		{"no command: the base says", "FROM b\nWORKDIR /app\n", nil, "/tf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(c.dockerfile), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ServedDir(c.run, base); got != c.want {
				t.Errorf("ServedDir = %q, want %q", got, c.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	m, err := Parse(strings.NewReader("ARG BASE=b\nFROM $BASE\nARG USER_ID\nARG GROUP_ID\nARG unused\nARG with_default=1\nRUN addgroup --gid ${GROUP_ID} user\nRUN adduser --uid $USER_ID user && echo $with_default\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range m.Args() {
		got = append(got, fmt.Sprintf("%s:%d:%v:%d", a.Name, a.Line, a.HasDefault, a.UsedBy))
	}
	want := "USER_ID:3:false:8 GROUP_ID:4:false:7 unused:5:false:0 with_default:6:true:8"
	if strings.Join(got, " ") != want {
		t.Errorf("args %v\nwant %s", got, want)
	}
	if HostIDArg("user_uid") != "uid" || HostIDArg("group_id") != "gid" || HostIDArg("USER") != "" {
		t.Error("HostIDArg")
	}
}

func TestStartsNoServer(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{nil, true}, {[]string{"bash"}, true}, {[]string{"/bin/sh"}, true}, {[]string{"python3"}, true},
		{[]string{"sleep", "infinity"}, true}, {[]string{"tail", "-f", "/dev/null"}, true},
		{[]string{"sh", "-c", "jupyter lab"}, false}, {[]string{"python3", "serve.py"}, false},
		{[]string{"start-notebook.py"}, false}, {[]string{"httpd", "-f", "-p", "8888"}, false},
	} {
		if got := StartsNoServer(c.args); got != c.want {
			t.Errorf("StartsNoServer(%q) = %v", c.args, got)
		}
	}
}
