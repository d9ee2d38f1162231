package progress

import (
	"slices"

	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// layerProgress follows the Engine's per-layer messages: a busy status
// ("Downloading" of a pull, the legacy builder's FROM included; "Pushing"
// of a push) with a progress detail, then a done status for the layer,
// whose size is the last total seen.
type Layers map[string]int64

// Statuses of pulls and pushes.
var (
	Pulling = []string{"Downloading", "Download complete"}
	Pushing = []string{"Pushing", "Pushed", "Layer already exists"}
)

func (l *Layers) Next(m jsonmessage.JSONMessage, statuses []string) (model.PullProgress, bool) {
	if m.ID == "" {
		return model.PullProgress{}, false
	}
	if *l == nil {
		*l = Layers{}
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
