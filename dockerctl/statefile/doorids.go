package statefile

import (
	"encoding/json"
	"os"
	"strings"
)

// The front door's kernel and session IDs: after replacements that
// carried kernels, pages know IDs the serving container does not have,
// and the door maps them. A tfdev killed and started again on the project
// reattaches to that container, and its door must map them the same way,
// so the map is saved beside the state, for the container it is about.

type doorIDs struct {
	Container string            `json:"container"`
	Shown     map[string]string `json:"shown"` // the container's ID -> the one pages know
}

func doorIDsPath(dir string) string {
	return strings.TrimSuffix(StatePath(dir), ".json") + ".door.json"
}

// SaveDoorIDs records what the door maps for container.
func SaveDoorIDs(dir, container string, shown map[string]string) error {
	b, err := json.Marshal(doorIDs{Container: container, Shown: shown})
	if err != nil {
		return err
	}
	return writeWhole(doorIDsPath(dir), b, 0o600)
}

// DoorIDs is what the door mapped for container, nil when it was saved
// for another (or never).
func DoorIDs(dir, container string) map[string]string {
	b, err := os.ReadFile(doorIDsPath(dir))
	if err != nil {
		return nil
	}
	var d doorIDs
	if json.Unmarshal(b, &d) != nil || d.Container != container {
		return nil
	}
	return d.Shown
}
