package model

import (
	"fmt"
)

// LoginError is a pull that the registry refused for want of a login.
type LoginError struct {
	Image, Registry string
	Said            string // the registry's or BuildKit's own words
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("%s is on %s, which wants a login: run docker login %s (it said: %s)", e.Image, e.Registry, e.Registry, e.Said)
}
