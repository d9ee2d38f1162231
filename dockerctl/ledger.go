package dockerctl

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
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
	// Final: saved when tfdev stopped the container, after everything
	// written in it came home; StartedAt tells whether it ran since.
	Final     bool      `json:"final,omitempty"`
	StartedAt time.Time `json:"started_at,omitempty"`
}

// LedgerPath is where a project's ledger is kept, beside its state file.
func LedgerPath(dir string) string {
	return strings.TrimSuffix(StatePath(dir), ".json") + ".ledger.json"
}

// SaveLedger records the ledger of the project's container.
func SaveLedger(dir, containerID string, l *Ledger) error {
	return saveLedger(dir, savedLedger{Container: containerID, Sums: l.snapshot()})
}

// saveFinalLedger records the ledger of a container tfdev stopped after
// bringing everything home from it: until it runs again, there is nothing
// more to rescue from it.
func saveFinalLedger(dir string, c *Container, l *Ledger) error {
	return saveLedger(dir, savedLedger{Container: c.ID, Sums: l.snapshot(), Final: true, StartedAt: c.Started})
}

// NothingToRescue says whether tfdev stopped the container after bringing
// everything home from it, and it has not run since.
func NothingToRescue(dir string, c *Container) bool {
	s, err := readSavedLedger(dir)
	return err == nil && s.Final && s.Container == c.ID && !c.Running && s.StartedAt.Equal(c.Started)
}

func saveLedger(dir string, s savedLedger) error {
	b, err := json.Marshal(s)
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
	s, err := readSavedLedger(dir)
	if err != nil || s.Container != containerID || s.Sums == nil {
		return nil, err
	}
	return &Ledger{m: s.Sums}, nil
}

// RescueLedger is the ledger to rescue from a container with: the saved
// one, or an empty one when none is known (then every change in the
// container is the user's, and comes home).
func RescueLedger(dir, containerID string) *Ledger {
	l, err := LoadLedger(dir, containerID)
	if err != nil || l == nil {
		return NewLedger()
	}
	return l
}

func readSavedLedger(dir string) (savedLedger, error) {
	var s savedLedger
	b, err := os.ReadFile(LedgerPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return savedLedger{}, nil // a damaged file is no agreement: start from the image
	}
	return s, nil
}
