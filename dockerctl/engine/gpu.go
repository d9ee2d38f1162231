package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/system"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// DetectGPU reads, from the Engine's Info, whether a --gpus request can be
// served: an nvidia runtime, CDI spec directories with devices, or
// discovered devices. The NVIDIA hook is what "could not select device
// driver" lacks, so without one of these tfdev runs on CPU.
func DetectGPU(info system.Info) model.GPUSupport {
	if _, ok := info.Runtimes["nvidia"]; ok {
		return model.GPUSupport{Available: true, Why: "the Engine has the nvidia runtime"}
	}
	for _, d := range info.DiscoveredDevices {
		if strings.Contains(d.ID, "gpu") || strings.Contains(strings.ToLower(d.Source), "nvidia") || d.Source == "cdi" {
			return model.GPUSupport{Available: true, Why: "the Engine discovered device " + d.ID}
		}
	}
	return model.GPUSupport{Why: "no GPU: the Engine has no nvidia runtime and reports no GPU devices (install the NVIDIA Container Toolkit for GPU support)"}
}

// GPURequest turns --gpus (auto, all, none, or comma-separated device IDs
// or a count) into the DeviceRequests of the container, given what the
// Engine supports. "auto" asks for every GPU when there are any and runs on
// CPU otherwise; "all" or IDs on an Engine without GPUs is an error.
func GPURequest(flag string, gpu model.GPUSupport) ([]container.DeviceRequest, error) {
	all := []container.DeviceRequest{{Count: -1, Capabilities: [][]string{{"gpu"}}}}
	switch flag {
	case "", "auto":
		if gpu.Available {
			return all, nil
		}
		return nil, nil
	case "none", "0", "cpu":
		return nil, nil
	}
	if !gpu.Available {
		return nil, fmt.Errorf("--gpus %s: %s; use --gpus auto or none to run on CPU", flag, gpu.Why)
	}
	if flag == "all" {
		return all, nil
	}
	if n, err := strconv.Atoi(flag); err == nil && n > 0 {
		return []container.DeviceRequest{{Count: n, Capabilities: [][]string{{"gpu"}}}}, nil
	}
	ids := strings.Split(flag, ",")
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return nil, fmt.Errorf("--gpus %q: an empty device ID", flag)
		}
	}
	return []container.DeviceRequest{{DeviceIDs: ids, Capabilities: [][]string{{"gpu"}}}}, nil
}

// Arch is the Engine's architecture as Go and image indexes name it
// (amd64, arm64); "" when the Engine does not say.
func (e *Engine) Arch(ctx context.Context) string {
	info, err := e.api.Info(ctx)
	if err != nil {
		return ""
	}
	switch info.Architecture {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return info.Architecture
}

// Capabilities reads the Engine's Info once: GPUs, OS and architecture.
func (e *Engine) Capabilities(ctx context.Context) (model.GPUSupport, string, error) {
	info, err := e.api.Info(ctx)
	if err != nil {
		return model.GPUSupport{}, "", fmt.Errorf("reading the Engine's info: %w", err)
	}
	if e.Podman() {
		return DetectCDI(cdiDirs), info.OSType + "/" + info.Architecture, nil
	}
	return DetectGPU(info), info.OSType + "/" + info.Architecture, nil
}
