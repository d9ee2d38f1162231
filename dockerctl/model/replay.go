package model

import (
	"fmt"
)

// ReplayError is a replayed step that failed: where, and its last output.
type ReplayError struct {
	File, Instruction string
	Line, Code        int
	Log               []string
	Err               error // not the step's exit: the Engine or a copy failed
}

func (e *ReplayError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, e.Instruction, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s: exit code %d", e.File, e.Line, e.Instruction, e.Code)
}

func (e *ReplayError) Unwrap() error { return e.Err }
