package dockerctl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	m  map[string]string
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{m: map[string]string{}} }

func (l *Ledger) set(p, sum string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sum == "" {
		delete(l.m, p)
		return
	}
	l.m[p] = sum
}

// Get returns the agreed hash at container path p.
func (l *Ledger) Get(p string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.m[p]
	return s, ok
}

func (l *Ledger) snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.m))
	for k, v := range l.m {
		out[k] = v
	}
	return out
}

// savedLedger is a ledger on disk, with the container it is about.
type savedLedger struct {
	Container string            `json:"container"`
	Sums      map[string]string `json:"sums"`
}

// LedgerPath is where a project's ledger is kept, beside its state file.
func LedgerPath(dir string) string {
	return strings.TrimSuffix(StatePath(dir), ".json") + ".ledger.json"
}

// SaveLedger records the ledger of the project's container.
func SaveLedger(dir, containerID string, l *Ledger) error {
	b, err := json.Marshal(savedLedger{Container: containerID, Sums: l.snapshot()})
	if err != nil {
		return err
	}
	p := LedgerPath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// LoadLedger reads the project's saved ledger when it is about the
// container; nil when there is none for it.
func LoadLedger(dir, containerID string) (*Ledger, error) {
	b, err := os.ReadFile(LedgerPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s savedLedger
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil // a damaged file is no agreement: start from the image
	}
	if s.Container != containerID || s.Sums == nil {
		return nil, nil
	}
	return &Ledger{m: s.Sums}, nil
}
