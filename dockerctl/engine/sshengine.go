package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli/connhelper"
	"github.com/docker/docker/client"
)

// An Engine on another machine (a GPU workstation, a cloud VM) is reached
// as the docker CLI reaches it: DOCKER_HOST=ssh://[user@]host[:port], or a
// context whose endpoint is ssh. The connection helper runs `ssh ... docker
// system dial-stdio` with the user's ssh config, agent and known_hosts;
// every call of the Engine API (builds, execs, archives, events) then goes
// through that ssh connection.

// sshConnectTimeout bounds ssh's own connection; BatchMode makes a missing
// key an error instead of a password prompt that would hang tfdev.
const sshConnectTimeout = 8 * time.Second

var sshOpts = []string{"-o", fmt.Sprintf("ConnectTimeout=%d", int(sshConnectTimeout.Seconds())), "-o", "BatchMode=yes"}

// sshClientOpts are the client options for an ssh:// host.
func sshClientOpts(host string) ([]client.Opt, error) {
	helper, err := connhelper.GetConnectionHelperWithSSHOpts(host, sshOpts)
	if err != nil {
		return nil, fmt.Errorf("the Engine at %s: %w", host, err)
	}
	return []client.Opt{client.WithHost(helper.Host), client.WithDialContext(helper.Dialer)}, nil
}

// sshHint turns the connection helper's error into ssh's own words: the
// host is unknown, the key refused, no docker on the other side.
func sshHint(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "stderr="); i >= 0 {
		msg = strings.TrimSpace(msg[i+len("stderr="):])
	}
	switch {
	case strings.Contains(msg, "docker: command not found"), strings.Contains(msg, "docker: not found"):
		return "ssh connected, but the other machine has no docker command to dial the Engine with (" + msg + ")"
	case msg == "":
		return "ssh ended without a word; try ssh to the host by hand"
	}
	return "ssh says: " + msg
}
