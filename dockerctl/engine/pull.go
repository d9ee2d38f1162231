package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/engine/progress"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Pull pulls ref through the Engine with the docker CLI's login for its
// registry, telling report each layer's download; it returns the bytes
// downloaded. A registry that wants a login is a *LoginError.
func (e *Engine) Pull(ctx context.Context, ref string, report func(model.PullProgress)) (int64, error) {
	rc, err := e.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return 0, registryError(ref, "pulling", err.Error())
	}
	defer rc.Close()
	var lp progress.Layers
	var got int64
	err = eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		if m.Error != nil {
			return registryError(ref, "pulling", m.Error.Message)
		}
		if p, ok := lp.Next(m, progress.Pulling); ok {
			p.Image = ref
			if p.Done {
				got += p.Total
			}
			if report != nil {
				report(p)
			}
		}
		return nil
	})
	return got, err
}

// Push pushes ref (a local tag) with the docker CLI's login for its
// registry, telling report each layer's upload.
func (e *Engine) Push(ctx context.Context, ref string, report func(model.PullProgress)) error {
	rc, err := e.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return registryError(ref, "pushing", err.Error())
	}
	defer rc.Close()
	var lp progress.Layers
	return eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		if m.Error != nil {
			return registryError(ref, "pushing", m.Error.Message)
		}
		if p, ok := lp.Next(m, progress.Pushing); ok && report != nil {
			p.Image = ref
			report(p)
		}
		return nil
	})
}

// registryError words a refusal: a *LoginError when it wants credentials.
func registryError(ref, doing, msg string) error {
	if needsLogin(msg) {
		return &model.LoginError{Image: ref, Registry: RegistryOf(ref), Said: msg}
	}
	return fmt.Errorf("%s %s: %s", doing, ref, msg)
}

// eachMessage reads an Engine JSON message stream to its end.
func eachMessage(ctx context.Context, r io.Reader, fn func(jsonmessage.JSONMessage) error) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}
