package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// layerProgress follows the Engine's per-layer messages: a busy status
// ("Downloading" of a pull, the legacy builder's FROM included; "Pushing"
// of a push) with a progress detail, then a done status for the layer,
// whose size is the last total seen.
type layerProgress map[string]int64

// Statuses of pulls and pushes.
var (
	pulling = []string{"Downloading", "Download complete"}
	pushing = []string{"Pushing", "Pushed", "Layer already exists"}
)

func (l *layerProgress) progress(m jsonmessage.JSONMessage, statuses []string) (model.PullProgress, bool) {
	if m.ID == "" {
		return model.PullProgress{}, false
	}
	if *l == nil {
		*l = layerProgress{}
	}
	switch {
	case m.Status == statuses[0]:
		if m.Progress == nil || m.Progress.Total <= 0 {
			return model.PullProgress{}, false
		}
		(*l)[m.ID] = m.Progress.Total
		return model.PullProgress{Layer: m.ID, Current: m.Progress.Current, Total: m.Progress.Total}, true
	case slices.Contains(statuses[1:], m.Status):
		total, ok := (*l)[m.ID]
		return model.PullProgress{Layer: m.ID, Current: total, Total: total, Done: true}, ok
	}
	return model.PullProgress{}, false
}

// Pull pulls ref through the Engine with the docker CLI's login for its
// registry, telling progress each layer's download; it returns the bytes
// downloaded. A registry that wants a login is a *LoginError.
func (e *Engine) Pull(ctx context.Context, ref string, progress func(model.PullProgress)) (int64, error) {
	rc, err := e.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return 0, registryError(ref, "pulling", err.Error())
	}
	defer rc.Close()
	var lp layerProgress
	var got int64
	err = eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		if m.Error != nil {
			return registryError(ref, "pulling", m.Error.Message)
		}
		if p, ok := lp.progress(m, pulling); ok {
			p.Image = ref
			if p.Done {
				got += p.Total
			}
			if progress != nil {
				progress(p)
			}
		}
		return nil
	})
	return got, err
}

// Push pushes ref (a local tag) with the docker CLI's login for its
// registry, telling progress each layer's upload.
func (e *Engine) Push(ctx context.Context, ref string, progress func(model.PullProgress)) error {
	rc, err := e.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return registryError(ref, "pushing", err.Error())
	}
	defer rc.Close()
	var lp layerProgress
	return eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		if m.Error != nil {
			return registryError(ref, "pushing", m.Error.Message)
		}
		if p, ok := lp.progress(m, pushing); ok && progress != nil {
			p.Image = ref
			progress(p)
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
