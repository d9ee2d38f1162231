// Command tfdev is an instant edit-run loop for TensorFlow/PyTorch Jupyter
// containers: it builds the project's image with cached layers, runs it, and
// syncs or rebuilds as files change, deciding which from the Dockerfile.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// Exit statuses, documented in --help and the README.
const (
	exitOK      = 0
	exitRuntime = 1 // the Engine, a build or the filesystem failed
	exitUsage   = 2 // bad flags or bad project input (Dockerfile, .dockerignore)
)

// usageError marks an error caused by the user's input: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(err error) error { return usageError{err} }

// errSilent is a failure that was already reported as an event: exit 1
// without saying it twice.
var errSilent = errors.New("failed")

func asBuildError(err error, be **model.BuildError) bool { return errors.As(err, be) }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	if !errors.Is(err, errSilent) {
		fmt.Fprintln(stderr, "tfdev:", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRuntime
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "tfdev",
		Short: "Instant edit-run loop for ML Jupyter containers",
		Long: `tfdev builds a project's image with cached layers, runs it as a Jupyter
container and keeps it current: source edits are synced into the running
container, dependency changes trigger a cached rebuild. Which is which comes
from the project's own Dockerfile and .dockerignore.

Exit status: 0 ok, 1 runtime failure (engine, build, filesystem),
2 usage error or bad project input (flags, Dockerfile, .dockerignore).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput(err) })
	root.AddCommand(newUpCmd(), newDownCmd(), newStatusCmd(), newLogsCmd(), newBuildCmd(), newPullCmd(), newDoctorCmd(), newInitCmd(), newContextCmd(), newExplainCmd(), newVersionCmd())
	return root
}

func asUsage(err error, ue *usageError) bool { return errors.As(err, ue) }
