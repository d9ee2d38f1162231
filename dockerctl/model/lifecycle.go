package model

import "strings"

// LifecycleCommand is one of a dev container's lifecycle commands: a
// shell line, or the words of a command run as they are.
type LifecycleCommand struct {
	Name  string   // its key in the object form ("" otherwise)
	Shell string   // a line for /bin/sh -c
	Args  []string // or the command itself
}

// String is the command as the user wrote it.
func (c LifecycleCommand) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Args, " ")
}

// Lifecycle is what a dev container runs and when, as the dev containers
// CLI runs it: Initialize on the host before anything; OnCreate,
// UpdateContent and PostCreate once per new container; PostStart on every
// start. In the container they run as User, with Env, in Dir.
type Lifecycle struct {
	Initialize, OnCreate, UpdateContent, PostCreate, PostStart []LifecycleCommand

	User string   // remoteUser, else containerUser ("": the image's)
	Env  []string // containerEnv, then remoteEnv
	Dir  string   // workspaceFolder
}

// InContainer reports whether anything runs in the container.
func (l Lifecycle) InContainer() bool {
	return len(l.OnCreate)+len(l.UpdateContent)+len(l.PostCreate)+len(l.PostStart) > 0
}
