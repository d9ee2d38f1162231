package dockerctl

import (
	"maps"
	"sync"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// containerBook is what the executor keeps per container: the ledger of
// what host and container agree on, and the watch of what is written in
// it. The loop and the work beside it (a replacement) both use it.
type containerBook struct {
	mu      sync.Mutex
	ledgers map[string]*model.Ledger
	watches map[string]containerWatch
	// changed holds, per container, the module files synced into it, each
	// with the stamp of its last change: what its kernels are told.
	changed map[string]map[string]int64
	stamp   int64
}

func newContainerBook() *containerBook {
	return &containerBook{ledgers: map[string]*model.Ledger{}, watches: map[string]containerWatch{}, changed: map[string]map[string]int64{}}
}

// changedNow records that files changed in the container now, and returns
// every module file changed there with its stamp. Stamps are wall-clock
// nanoseconds, strictly rising: a later tfdev that reattaches goes on
// above the stamps the kernels have seen.
func (b *containerBook) changedNow(id string, files []string) map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stamp = max(b.stamp+1, time.Now().UnixNano())
	m := b.changed[id]
	if m == nil {
		m = map[string]int64{}
		b.changed[id] = m
	}
	for _, f := range files {
		m[f] = b.stamp
	}
	return maps.Clone(m)
}

// changedIn is every module file changed in the container, with its stamp.
func (b *containerBook) changedIn(id string) map[string]int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.changed[id])
}

// ledger is the container's ledger, empty for a container tfdev knows
// nothing of.
func (b *containerBook) ledger(id string) *model.Ledger {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.ledgers[id]
	if !ok {
		l = model.NewLedger()
		b.ledgers[id] = l
	}
	return l
}

func (b *containerBook) hasLedger(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.ledgers[id]
	return ok
}

func (b *containerBook) setLedger(id string, l *model.Ledger) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ledgers[id] = l
}

// moveLedger gives the ledger of container from to container to (the
// Engine recreated it under a new ID).
func (b *containerBook) moveLedger(from, to string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ledgers[to] = b.ledgers[from]
	delete(b.ledgers, from)
}

func (b *containerBook) dropLedger(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.ledgers, id)
	delete(b.changed, id)
}

func (b *containerBook) watch(id string) (containerWatch, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.watches[id]
	return w, ok
}

func (b *containerBook) setWatch(id string, w containerWatch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.watches[id] = w
}

// takeWatch removes the container's watch and returns it.
func (b *containerBook) takeWatch(id string) (containerWatch, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.watches[id]
	delete(b.watches, id)
	return w, ok
}

// watched lists the containers with a watch.
func (b *containerBook) watched() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := make([]string, 0, len(b.watches))
	for id := range b.watches {
		ids = append(ids, id)
	}
	return ids
}
