package model

// RunSettings are the container settings a compose service or a dev
// container gives.
type RunSettings struct {
	Entrypoint  []string // nil: the image's
	Cmd         []string // nil: the image's
	WorkingDir  string
	User        string
	JupyterPort int // the container port Jupyter serves; 0: JupyterPort
	ShmSize     int64
	IPC         string
	Binds       []string          // volumes, as the Engine takes them
	Tmpfs       map[string]string // tmpfs mounts
	// CommandGiven: the user named the command (tfdev up --command); it
	// runs as it is, Jupyter or not.
	CommandGiven bool
	// ServeDir is the folder Jupyter must serve (a dev container's
	// workspaceFolder); "" when the command decides.
	ServeDir string
}

func (r RunSettings) Port() int {
	if r.JupyterPort > 0 {
		return r.JupyterPort
	}
	return JupyterPort
}
