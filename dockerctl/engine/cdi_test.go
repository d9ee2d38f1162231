package engine

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// nvidia-ctk's YAML (as `nvidia-ctk cdi generate` writes it) and a JSON
// spec of another kind: the GPUs are read from the first only.
func TestDetectCDI(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "nvidia.yaml", `---
cdiVersion: 0.5.0
containerEdits:
  deviceNodes:
  - path: /dev/nvidiactl
devices:
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
  name: "0"
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia1
  name: "1"
- containerEdits:
    deviceNodes:
    - path: /dev/nvidia0
    - path: /dev/nvidia1
  name: all
kind: nvidia.com/gpu
`)
	writeFile(t, dir, "other.json", `{"cdiVersion":"0.5.0","kind":"vendor.com/fpga","devices":[{"name":"f0","containerEdits":{"env":["X=1"]}}]}`)
	writeFile(t, dir, "notes.txt", "kind: nvidia.com/gpu\n")
	got := DetectCDI([]string{dir, filepath.Join(dir, "missing")})
	want := model.CDIDevices{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=all"}
	if !got.Available || !reflect.DeepEqual(got.CDI, want) || !strings.Contains(got.Why, "nvidia.yaml") {
		t.Errorf("%+v", got)
	}
	none := DetectCDI([]string{t.TempDir()})
	if none.Available || len(none.CDI) > 0 || !strings.Contains(none.Why, "nvidia-ctk cdi generate") {
		t.Errorf("no spec: %+v", none)
	}
}

func TestCDIRequest(t *testing.T) {
	two := model.GPUSupport{Available: true, CDI: model.CDIDevices{"nvidia.com/gpu=0", "nvidia.com/gpu=1", "nvidia.com/gpu=all"}}
	noAll := model.GPUSupport{Available: true, CDI: model.CDIDevices{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}}
	for _, c := range []struct {
		flag    string
		gpu     model.GPUSupport
		want    []string
		wantErr string
	}{
		{"auto", two, []string{"nvidia.com/gpu=all"}, ""},
		{"all", noAll, []string{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}, ""},
		{"none", two, nil, ""},
		{"1", two, []string{"nvidia.com/gpu=0"}, ""},
		{"3", two, nil, "name 2 GPU(s)"},
		{"1,0", two, []string{"nvidia.com/gpu=1", "nvidia.com/gpu=0"}, ""},
		{"7", noAll, nil, "name 2 GPU(s)"},
		{"0,5", two, nil, "no CDI device nvidia.com/gpu=5"},
	} {
		got, err := CDIRequest(c.flag, c.gpu)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.flag, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %v, %v; want %v", c.flag, got, err, c.want)
		}
	}
}
