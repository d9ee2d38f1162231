package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// TagImage tags an image.
func (e *Engine) TagImage(ctx context.Context, id, ref string) error {
	if err := e.api.ImageTag(ctx, id, ref); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", event.ShortID(id), ref, err)
	}
	return nil
}

// RemoveImage removes a tag, and the image when nothing else holds it.
// Force removes an image that tags or stopped containers still use.
func (e *Engine) RemoveImage(ctx context.Context, ref string, force bool) error {
	if _, err := e.api.ImageRemove(ctx, ref, image.RemoveOptions{Force: force, PruneChildren: true}); err != nil {
		return fmt.Errorf("removing image %s: %w", ref, err)
	}
	return nil
}

// ProjectImages lists the images tagged in the project's repository.
func (e *Engine) ProjectImages(ctx context.Context, dir string) ([]model.ProjectImage, error) {
	imgs, err := e.api.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", model.ImageRepo(dir)))})
	if err != nil {
		return nil, fmt.Errorf("listing the project's images: %w", err)
	}
	out := make([]model.ProjectImage, 0, len(imgs))
	for _, im := range imgs {
		var tags []string
		for _, t := range im.RepoTags {
			if strings.HasPrefix(t, model.ImageRepo(dir)+":") {
				tags = append(tags, t)
			}
		}
		out = append(out, model.ProjectImage{ID: im.ID, Tags: tags})
	}
	return out, nil
}

// ImageSize is an image's size on the Engine (its layers, unpacked).
func (e *Engine) ImageSize(ctx context.Context, ref string) (int64, error) {
	insp, err := e.api.ImageInspect(ctx, ref)
	if err != nil {
		return 0, err
	}
	return insp.Size, nil
}

// ImagePresent says whether the Engine has ref.
func (e *Engine) ImagePresent(ctx context.Context, ref string) bool {
	_, err := e.api.ImageInspect(ctx, ref)
	return err == nil
}

// ImageServedDir is the folder an image's Jupyter command serves, "" when
// the image is not present or its command names none.
func (e *Engine) ImageServedDir(ctx context.Context, ref string) string {
	insp, err := e.api.ImageInspect(ctx, ref)
	if err != nil || insp.Config == nil {
		return "" // not here yet: the build pulls it
	}
	return dockerfile.ServedDirFromArgs(append(slices.Clone(insp.Config.Entrypoint), insp.Config.Cmd...))
}

// ImageWorkdir is an image's working directory, "" when the image is not
// present or sets none: what a Dockerfile's first WORKDIR is relative to.
func (e *Engine) ImageWorkdir(ctx context.Context, ref string) string {
	insp, err := e.api.ImageInspect(ctx, ref)
	if err != nil || insp.Config == nil {
		return "" // not here yet: the build pulls it, and "/" is Docker's default too
	}
	return insp.Config.WorkingDir
}

// SyncCovers reports whether image built differs from image running only
// in its last tail layers (the ones that steps tfdev syncs make), with the
// same config: a container of running, with the project's files synced
// into it, is then as good as one of built. When in doubt it says no: a
// replacement is what costs the kernels, never a wrong answer.
func (e *Engine) SyncCovers(ctx context.Context, running, built string, tail int) (bool, error) {
	if running == built {
		return true, nil
	}
	a, err := e.api.ImageInspect(ctx, running)
	if err != nil {
		return false, err
	}
	b, err := e.api.ImageInspect(ctx, built)
	if err != nil {
		return false, err
	}
	if a.RootFS.Type != b.RootFS.Type || len(a.RootFS.Layers) != len(b.RootFS.Layers) || len(b.RootFS.Layers) < tail {
		return false, nil
	}
	keep := len(b.RootFS.Layers) - tail
	if !slices.Equal(a.RootFS.Layers[:keep], b.RootFS.Layers[:keep]) {
		return false, nil
	}
	return sameRunConfig(a.Config, b.Config), nil
}

// sameRunConfig compares what a container of an image runs with.
func sameRunConfig(a, b *dockerspec.DockerOCIImageConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.Cmd, b.Cmd) && slices.Equal(a.Entrypoint, b.Entrypoint) && slices.Equal(a.Env, b.Env) &&
		a.WorkingDir == b.WorkingDir && a.User == b.User && slices.Equal(a.Shell, b.Shell) && a.StopSignal == b.StopSignal &&
		maps.Equal(a.Labels, b.Labels) && maps.EqualFunc(a.ExposedPorts, b.ExposedPorts, func(struct{}, struct{}) bool { return true }) &&
		maps.EqualFunc(a.Volumes, b.Volumes, func(struct{}, struct{}) bool { return true })
}
