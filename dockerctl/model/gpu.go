package model

// GPUSupport is what the Engine says about serving GPUs to containers.
type GPUSupport struct {
	Available bool
	Why       string // how it was found, or why not: shown once to the user
}
