package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"gopkg.in/yaml.v3"
)

// On Podman, GPUs come through the Container Device Interface: a spec
// (nvidia-ctk cdi generate writes /etc/cdi/nvidia.yaml) names each GPU,
// and a container asks for "nvidia.com/gpu=0" or "nvidia.com/gpu=all".

// cdiDirs are where Podman reads CDI specs.
var cdiDirs = []string{"/etc/cdi", "/var/run/cdi"}

const gpuKind = "nvidia.com/gpu"

// cdiSpec is the part of a CDI spec tfdev reads (YAML, or JSON, which is
// YAML too).
type cdiSpec struct {
	Kind    string `yaml:"kind"`
	Devices []struct {
		Name string `yaml:"name"`
	} `yaml:"devices"`
}

// DetectCDI reads the CDI specs in dirs for NVIDIA GPUs.
func DetectCDI(dirs []string) model.GPUSupport {
	var names, files []string
	for _, dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			var spec cdiSpec
			if err != nil || yaml.Unmarshal(b, &spec) != nil || spec.Kind != gpuKind {
				continue
			}
			for _, d := range spec.Devices {
				if n := spec.Kind + "=" + d.Name; d.Name != "" && !slices.Contains(names, n) {
					names = append(names, n)
				}
			}
			if len(spec.Devices) > 0 {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if len(names) == 0 {
		return model.GPUSupport{Why: fmt.Sprintf("no GPU: Podman takes GPUs as CDI devices, and no CDI spec in %s names an %s (on a GPU host: nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml)", strings.Join(dirs, " or "), gpuKind)}
	}
	slices.Sort(names)
	return model.GPUSupport{Available: true, CDI: names, Why: fmt.Sprintf("CDI devices %s (%s)", strings.Join(names, ", "), strings.Join(files, ", "))}
}

// CDIRequest turns --gpus into the CDI device names a container asks
// for: auto and all ask for the spec's "all" device, or every GPU it
// names; a count N for the first N GPUs; IDs for those GPUs, each of
// which the spec must name.
func CDIRequest(flag string, gpu model.GPUSupport) ([]string, error) {
	var gpus []string // the GPUs, without "all"
	for _, n := range gpu.CDI {
		if n != gpuKind+"=all" {
			gpus = append(gpus, n)
		}
	}
	all := gpus
	if slices.Contains(gpu.CDI, gpuKind+"=all") {
		all = []string{gpuKind + "=all"}
	}
	switch flag {
	case "", "auto", "all":
		return all, nil
	case "none", "0", "cpu":
		return nil, nil
	}
	if n, err := strconv.Atoi(flag); err == nil && n > 0 {
		if n > len(gpus) {
			return nil, fmt.Errorf("--gpus %d: the CDI specs name %d GPU(s): %s", n, len(gpus), strings.Join(gpus, ", "))
		}
		return gpus[:n], nil
	}
	var out []string
	for _, id := range strings.Split(flag, ",") {
		n := gpuKind + "=" + strings.TrimSpace(id)
		if strings.TrimSpace(id) == "" || !slices.Contains(gpu.CDI, n) {
			return nil, fmt.Errorf("--gpus %q: no CDI device %s (the specs name %s)", flag, n, strings.Join(gpu.CDI, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}
