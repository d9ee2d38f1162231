package model

// Conflict is a file changed on both sides, both copies kept: the host's
// in place, the container's beside it.
type Conflict struct {
	File string `json:"file"` // the project path, the host's copy
	Copy string `json:"copy"` // the container's copy, project-relative (under .tfdev/conflicts)
	From string `json:"from"` // the container path
}
