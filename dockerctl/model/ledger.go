package model

import (
	"sync"
)

// Ledger holds, per container path, the SHA-256 of the content host and
// container last agreed on: updated by every completed sync in either
// direction, seeded from a build only for a container made from that
// build. A path whose content on one side differs from it changed on that
// side; on both sides, it is a conflict. One container's ledger is kept
// across runs of tfdev (SaveLedger), so that a reattach knows what changed
// while tfdev was away. Safe for concurrent use; a nil Ledger holds
// nothing.
type Ledger struct {
	mu sync.Mutex
	M  map[string]string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{M: map[string]string{}} }

func (l *Ledger) Set(p, sum string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sum == "" {
		delete(l.M, p)
		return
	}
	l.M[p] = sum
}

// Get returns the agreed hash at container path p.
func (l *Ledger) Get(p string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.M[p]
	return s, ok
}

func (l *Ledger) Snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.M))
	for k, v := range l.M {
		out[k] = v
	}
	return out
}
