package model

import (
	"time"
)

// Death is a container of the project that stopped running.
type Death struct {
	ID   string
	Code int // -1 when the Engine did not say
	At   time.Time
}
