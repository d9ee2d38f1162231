package model

// GPUSupport is what the Engine says about serving GPUs to containers.
type GPUSupport struct {
	Available bool
	Why       string     // how it was found, or why not: shown once to the user
	CDI       CDIDevices // GPUs the host's CDI specs name (Podman), sorted
}

// CDIDevices are GPUs named by the Container Device Interface, as Podman
// takes them ("nvidia.com/gpu=0", "nvidia.com/gpu=all"): when there are
// any, GPUs are asked for by these names, not by the Engine's --gpus.
type CDIDevices []string
