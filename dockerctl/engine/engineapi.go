package engine

// Addr is the Engine's address, e.g. unix:///var/run/docker.sock.
func (e *Engine) Addr() string { return e.Host }

// Version is the negotiated API version.
func (e *Engine) Version() string { return e.APIVersion }
