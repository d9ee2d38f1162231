package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/system"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func TestDetectGPU(t *testing.T) {
	for _, c := range []struct {
		name string
		info system.Info
		want bool
	}{
		{"nothing", system.Info{Runtimes: map[string]system.RuntimeWithStatus{"runc": {}}}, false},
		{"nvidia runtime", system.Info{Runtimes: map[string]system.RuntimeWithStatus{"nvidia": {}}}, true},
		{"cdi device", system.Info{DiscoveredDevices: []system.DeviceInfo{{Source: "cdi", ID: "nvidia.com/gpu=0"}}}, true},
	} {
		if got := DetectGPU(c.info); got.Available != c.want || got.Why == "" {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}

func TestGPURequest(t *testing.T) {
	yes := model.GPUSupport{Available: true, Why: "nvidia runtime"}
	no := model.GPUSupport{Why: "no nvidia runtime"}
	all := []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}
	for _, c := range []struct {
		flag    string
		gpu     model.GPUSupport
		want    []container.DeviceRequest
		wantErr string
	}{
		{"auto", yes, all, ""},
		{"auto", no, nil, ""},
		{"", no, nil, ""},
		{"none", yes, nil, ""},
		{"all", yes, all, ""},
		{"all", no, nil, "no nvidia runtime"},
		{"2", yes, []container.DeviceRequest{{Count: 2, Capabilities: [][]string{{"gpu"}}}}, ""},
		{"0,1", yes, []container.DeviceRequest{{DeviceIDs: []string{"0", "1"}, Capabilities: [][]string{{"gpu"}}}}, ""},
		{"0,", yes, nil, "empty device ID"},
	} {
		got, err := GPURequest(c.flag, c.gpu)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: err %v, want %q", c.flag, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %+v, %v; want %+v", c.flag, got, err, c.want)
		}
	}
}
