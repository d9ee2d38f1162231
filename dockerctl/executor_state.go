package dockerctl

import (
	"sync"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// containerBook is what the executor keeps per container: the ledger of
// what host and container agree on, and the watch of what is written in
// it. The loop and the work beside it (a replacement) both use it.
type containerBook struct {
	mu      sync.Mutex
	ledgers map[string]*model.Ledger
	watches map[string]containerWatch
}

func newContainerBook() *containerBook {
	return &containerBook{ledgers: map[string]*model.Ledger{}, watches: map[string]containerWatch{}}
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
