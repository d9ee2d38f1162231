package dockerfile

import "github.com/tfdev-dev/tfdev/watcher"

// SyncTail counts the layers at the end of the image that only steps tfdev
// syncs make: the COPY and ADD instructions of the target stage, read from
// the build context, after its last other layer (a RUN, a WORKDIR, a copy
// from another stage or one whose files a later RUN reads). Metadata after
// them (ENV, CMD ...) makes no layer and is compared with the image's
// config instead. Two images whose layers agree but for these differ only
// in files a sync brings over.
func SyncTail(p *Project) int {
	syncs := map[int]bool{}
	for _, r := range p.Rules.Steps {
		if r.Action == watcher.Sync {
			syncs[r.Line] = true
		}
	}
	steps := p.Model.TargetStage().Steps
	n := 0
	for i := len(steps) - 1; i >= 0; i-- {
		switch st := steps[i]; st.Kind {
		case "COPY", "ADD":
			if !syncs[st.Line] {
				return n
			}
			n++
		case "FROM", "RUN", "WORKDIR":
			return n
		}
	}
	return n
}
