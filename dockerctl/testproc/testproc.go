// Package testproc runs a daemon a test needs (sshd, a registry) for the
// test's length, and waits for the line it logs when it listens: no
// polling, no sleep.
package testproc

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

// StartListening starts cmd, kills it at the test's end, and returns once
// a line of its stderr holds listening; it fails the test, with what the
// daemon said, when the daemon ends first. Its later log is drained, so it
// never blocks on it.
func StartListening(t testing.TB, name string, cmd *exec.Cmd, listening string) {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	var said []string
	up := false
	for !up && sc.Scan() {
		said = append(said, sc.Text())
		up = strings.Contains(sc.Text(), listening)
	}
	if !up {
		t.Fatalf("%s ended before it listened:\n%s", name, strings.Join(said, "\n"))
	}
	go func() {
		for sc.Scan() {
		}
	}()
}
