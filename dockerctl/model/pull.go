package model

import (
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
