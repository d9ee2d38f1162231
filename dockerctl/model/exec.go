package model

// ExecResult is a finished command in a container.
type ExecResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// ExecSpec is a command to run in a container as a Dockerfile step would.
type ExecSpec struct {
	Cmd     []string
	Env     []string
	Workdir string
	User    string
}
