package model

import (
	"fmt"
	"strings"
)

// LoginError is a pull that the registry refused for want of a login.
type LoginError struct {
	Image, Registry string
	Said            string // the registry's or BuildKit's own words
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("%s is on %s, which wants a login: run docker login %s (it said: %s)", e.Image, e.Registry, e.Registry, e.Said)
}

// NoJupyterError is an image whose command does not start Jupyter and that
// has no Jupyter tfdev could start: said once, before any container runs.
type NoJupyterError struct {
	Command []string // what the image runs
}

func (e *NoJupyterError) Error() string {
	what := "no command"
	if len(e.Command) > 0 {
		what = strings.Join(e.Command, " ")
	}
	return fmt.Sprintf("the image has no Jupyter: its command (%s) does not start one, and neither jupyter lab nor jupyter notebook is installed. "+
		"Add RUN pip install jupyterlab to the Dockerfile (tfdev init writes one that has it), or give tfdev up --command the line that starts yours", what)
}
