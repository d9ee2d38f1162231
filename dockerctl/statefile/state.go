package statefile

import (
	"cmp"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// State is what `tfdev status` reads: the last build and container.
type State struct {
	Image        string    `json:"image"`
	Builder      string    `json:"builder"`
	BuiltAt      time.Time `json:"built_at"`
	BuildSeconds float64   `json:"build_seconds"`
	Container    string    `json:"container,omitempty"`
	URL          string    `json:"url,omitempty"`
	Token        string    `json:"token,omitempty"` // kept across runs: the URL stays the same
	// LiveContainer (an ID) runs an older image plus live installs that
	// make it match Image: a later run reattaches to it, not replaces it.
	LiveContainer string `json:"live_container,omitempty"`
	// LiveVia says how: "live installs", or "syncs" (a container of an
	// earlier run kept, its image differing only in files tfdev syncs).
	LiveVia string `json:"live_via,omitempty"`
	// ConfiguredBy names the compose file or devcontainer.json the session
	// ran from ("" for the Dockerfile alone).
	ConfiguredBy string `json:"configured_by,omitempty"`
}

// StatePath is where the session records a project's State: in the user's
// cache directory, not in the project, where it would change the build
// context.
func StatePath(dir string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "tfdev", model.ProjectID(dir)+".json")
}

// WriteState records a session's build and container; live is the image
// the container matches through live installs or syncs (via says which).
func WriteState(dir string, built *model.BuildResult, c *model.Container, url, live, via, configuredBy string) error {
	st := State{Image: built.ImageID, Builder: string(built.Builder), BuiltAt: time.Now(), BuildSeconds: built.Duration.Seconds(), ConfiguredBy: configuredBy}
	if c != nil {
		st.Container, st.URL, st.Token = c.Name, cmp.Or(url, c.URL()), c.Token
		if live == built.ImageID {
			st.LiveContainer, st.LiveVia = c.ID, via
		}
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := StatePath(dir)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// ReadState reads the last State of a project; a zero State when none.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(StatePath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// SessionToken is the Jupyter token of a session: the one asked for, else
// the project's from its last run (so its URL stays the same), else a new
// one.
func SessionToken(dir, asked string) (string, error) {
	if asked != "" {
		return asked, nil
	}
	if st, err := ReadState(dir); err == nil && st.Token != "" {
		return st.Token, nil
	}
	return model.NewToken()
}

// ConflictsPath is where a project's unresolved conflicts are listed, for
// tfdev status: beside its State.
func ConflictsPath(dir string) string {
	return strings.TrimSuffix(StatePath(dir), ".json") + ".conflicts.json"
}

// WriteConflicts records the project's unresolved conflicts (none: the
// record goes).
func WriteConflicts(dir string, cs []model.Conflict) error {
	p := ConflictsPath(dir)
	if len(cs) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, append(b, '\n'), 0o644)
}

// ReadConflicts reads the project's unresolved conflicts.
func ReadConflicts(dir string) ([]model.Conflict, error) {
	b, err := os.ReadFile(ConflictsPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []model.Conflict
	return cs, json.Unmarshal(b, &cs)
}
