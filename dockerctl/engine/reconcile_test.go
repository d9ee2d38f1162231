package engine

import (
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
)

func TestParseSHA256Sum(t *testing.T) {
	out := "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  /x/y/f\n" +
		`\3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d  /x/new\nline\\b` + "\n" +
		"garbage\n"
	m := parseSHA256Sum([]byte(out))
	if len(m) != 2 || m["/x/y/f"] == "" || m["/x/new\nline\\b"] == "" {
		t.Errorf("%q", m)
	}
}

func TestServedDirFromArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"jupyter", "notebook", "--notebook-dir=/tf", "--ip", "0.0.0.0"}, "/tf"},
		{[]string{"/bin/bash", "-c", "source /etc/bash.bashrc && jupyter notebook --notebook-dir=/tf/ --ip 0.0.0.0"}, "/tf"},
		{[]string{"jupyter", "lab", "--ServerApp.root_dir", "/home/jovyan/work"}, "/home/jovyan/work"},
		{[]string{"jupyter", "notebook", "--NotebookApp.notebook_dir='/data'"}, "/data"},
		{[]string{"python", "train.py"}, ""},
		{[]string{"jupyter", "notebook", "--notebook-dir=relative"}, ""},
	} {
		if got := dockerfile.ServedDirFromArgs(c.args); got != c.want {
			t.Errorf("%q: %q, want %q", c.args, got, c.want)
		}
	}
}
