package dockerfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSyncTail(t *testing.T) {
	for _, c := range []struct {
		name, dockerfile string
		want             int
	}{
		{"source last", "FROM b\nWORKDIR /tf\nCOPY requirements.txt /tmp/\nRUN pip install -r /tmp/requirements.txt\nCOPY . /tf\nCMD [\"jupyter\"]\n", 1},
		{"two source copies", "FROM b\nRUN true\nCOPY src /app/src\nCOPY notebooks /app/notebooks\nENV A=1\n", 2},
		{"a RUN after the source", "FROM b\nCOPY . /app\nRUN python setup.py develop\n", 0},
		{"a copy from a stage", "FROM b AS build\nRUN make\nFROM b\nCOPY . /app\nCOPY --from=build /out /app/out\n", 0},
		{"a WORKDIR after", "FROM b\nCOPY . /app\nWORKDIR /app\n", 0},
		{"nothing copied", "FROM b\nRUN true\n", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(c.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{"src", "notebooks"} {
				os.Mkdir(filepath.Join(dir, d), 0o755)
			}
			os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("numpy\n"), 0o644)
			p, err := Load(dir, "Dockerfile", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := SyncTail(p); got != c.want {
				t.Errorf("SyncTail = %d, want %d", got, c.want)
			}
		})
	}
}
