package model

import (
	"fmt"
	"strings"
	"time"
)

// UnreachableJupyterError is a Jupyter that did not answer in time.
type UnreachableJupyterError struct {
	URL     string
	Waited  time.Duration
	LastErr error
	Logs    []string // the container's last log lines
}

func (e *UnreachableJupyterError) Error() string {
	return fmt.Sprintf("Jupyter did not answer at %s within %v (%v); the container's last log lines:\n  %s",
		e.URL, e.Waited, e.LastErr, strings.Join(e.Logs, "\n  "))
}
