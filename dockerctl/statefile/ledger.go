package statefile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

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
func SaveLedger(dir, containerID string, l *model.Ledger) error {
	return saveLedger(dir, savedLedger{Container: containerID, Sums: l.Snapshot()})
}

// saveFinalLedger records the ledger of a container tfdev stopped after
// bringing everything home from it: until it runs again, there is nothing
// more to rescue from it.
func SaveFinalLedger(dir string, c *model.Container, l *model.Ledger) error {
	return saveLedger(dir, savedLedger{Container: c.ID, Sums: l.Snapshot(), Final: true, StartedAt: c.Started})
}

// NothingToRescue says whether tfdev stopped the container after bringing
// everything home from it, and it has not run since.
func NothingToRescue(dir string, c *model.Container) bool {
	s, err := readSavedLedger(dir)
	return err == nil && s.Final && s.Container == c.ID && !c.Running && s.StartedAt.Equal(c.Started)
}

func saveLedger(dir string, s savedLedger) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return writeWhole(LedgerPath(dir), b, 0o644)
}

// writeWhole writes b to p whole or not at all: a reader (or a tfdev
// killed meanwhile) never finds half of it.
func writeWhole(p string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, perm); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// LoadLedger reads the project's saved ledger when it is about the
// container; nil when there is none for it.
func LoadLedger(dir, containerID string) (*model.Ledger, error) {
	s, err := readSavedLedger(dir)
	if err != nil || s.Container != containerID || s.Sums == nil {
		return nil, err
	}
	return model.LedgerOf(s.Sums), nil
}

// RescueLedger is the ledger to rescue from a container with: the saved
// one, or an empty one when none is known (then every change in the
// container is the user's, and comes home).
func RescueLedger(dir, containerID string) *model.Ledger {
	l, err := LoadLedger(dir, containerID)
	if err != nil || l == nil {
		return model.NewLedger()
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
