package dockerctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// PullProgress is one layer of a base image coming down.
type PullProgress struct {
	Step           int    // the FROM step's index; 0 for tfdev pull
	Image          string // the FROM step, or the image pulled
	Layer          string
	Current, Total int64
	Done           bool
}

// Event is the build.pull event of the progress.
func (p PullProgress) Event() event.Event {
	return event.Event{Kind: event.BuildPull, Index: p.Step, Image: p.Image, Layer: p.Layer, Current: p.Current, Total: int(p.Total), Done: p.Done}
}

// legacyPull follows the Engine's pull messages (the legacy builder's FROM,
// and POST /images/create): "Downloading" with a progress detail, then
// "Download complete" for the layer, whose size is the last total seen.
type legacyPull map[string]int64

func (l *legacyPull) progress(m jsonmessage.JSONMessage) (PullProgress, bool) {
	if m.ID == "" {
		return PullProgress{}, false
	}
	if *l == nil {
		*l = legacyPull{}
	}
	switch m.Status {
	case "Downloading":
		if m.Progress == nil || m.Progress.Total <= 0 {
			return PullProgress{}, false
		}
		(*l)[m.ID] = m.Progress.Total
		return PullProgress{Layer: m.ID, Current: m.Progress.Current, Total: m.Progress.Total}, true
	case "Download complete":
		total, ok := (*l)[m.ID]
		return PullProgress{Layer: m.ID, Current: total, Total: total, Done: true}, ok
	}
	return PullProgress{}, false
}

// Pull pulls ref through the Engine with the docker CLI's login for its
// registry, telling progress each layer's download; it returns the bytes
// downloaded. A registry that wants a login is a *LoginError.
func (e *Engine) Pull(ctx context.Context, ref string, progress func(PullProgress)) (int64, error) {
	rc, err := e.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return 0, registryError(ref, "pulling", err.Error())
	}
	defer rc.Close()
	var lp legacyPull
	var got int64
	err = eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		if m.Error != nil {
			return registryError(ref, "pulling", m.Error.Message)
		}
		if p, ok := lp.progress(m); ok {
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
func (e *Engine) Push(ctx context.Context, ref string, progress func(PullProgress)) error {
	rc, err := e.api.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: encodedAuth(ref)})
	if err != nil {
		return registryError(ref, "pushing", err.Error())
	}
	defer rc.Close()
	totals := map[string]int64{}
	return eachMessage(ctx, rc, func(m jsonmessage.JSONMessage) error {
		switch {
		case m.Error != nil:
			return registryError(ref, "pushing", m.Error.Message)
		case progress == nil || m.ID == "":
		case m.Status == "Pushing" && m.Progress != nil && m.Progress.Total > 0:
			totals[m.ID] = m.Progress.Total
			progress(PullProgress{Image: ref, Layer: m.ID, Current: m.Progress.Current, Total: m.Progress.Total})
		case m.Status == "Pushed" || m.Status == "Layer already exists":
			progress(PullProgress{Image: ref, Layer: m.ID, Current: totals[m.ID], Total: totals[m.ID], Done: true})
		}
		return nil
	})
}

// registryError words a refusal: a *LoginError when it wants credentials.
func registryError(ref, doing, msg string) error {
	if needsLogin(msg) {
		return &LoginError{Image: ref, Registry: RegistryOf(ref), Said: msg}
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
