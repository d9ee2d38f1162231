package model

import (
	"strings"
)

// ImageRepo is the repository tfdev tags a project's images with.
func ImageRepo(dir string) string {
	return "tfdev/" + strings.TrimPrefix(ContainerName(dir), "tfdev-")
}

// ProjectImage is one of the project's images with its tags.
type ProjectImage struct {
	ID   string
	Tags []string
}
