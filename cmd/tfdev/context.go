package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/watcher"
)

func newContextCmd() *cobra.Command {
	var dockerfile, dirFlag string
	cmd := &cobra.Command{
		Use:   "context [-C DIR] [-f DOCKERFILE] [DIR]",
		Short: "List the files a build of DIR sends as its context",
		Long: `List, sorted, every regular file and symlink that a "COPY . /dest" in a
docker build of DIR can see: the context as BuildKit sends it, filtered by
<Dockerfile>.dockerignore or .dockerignore with Docker's own matcher.`,
		Example: `  tfdev context
  tfdev context -C ./project -f docker/dev.Dockerfile`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := dirFlag
			if len(args) == 1 {
				if dirFlag != "." {
					return badInput(fmt.Errorf("give the directory once: -C %s or %s", dirFlag, args[0]))
				}
				dir = args[0]
			}
			dir, di, err := loadContext(dir, dockerfile)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			defer w.Flush()
			files, err := watcher.ListContext(cmd.Context(), dir, di)
			if err != nil {
				return fmt.Errorf("listing the context: %w", err)
			}
			for _, f := range files {
				fmt.Fprintln(w, f.Rel)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&dockerfile, "file", "f", "Dockerfile", "Dockerfile, relative to DIR")
	cmd.Flags().StringVarP(&dirFlag, "dir", "C", ".", "project directory (as for every other command)")
	return cmd
}

// loadContext resolves the context directory and reads its ignore file;
// problems with either are the user's input, exit status 2.
func loadContext(dir, dockerfile string) (string, *watcher.DockerIgnore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, badInput(err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", nil, badInput(fmt.Errorf("context directory: %w", err))
	}
	if !fi.IsDir() {
		return "", nil, badInput(fmt.Errorf("context %s is not a directory", dir))
	}
	di, err := watcher.LoadDockerIgnore(abs, dockerfile)
	if err != nil {
		var pe *watcher.PatternError
		if errors.As(err, &pe) {
			return "", nil, badInput(err)
		}
		return "", nil, err
	}
	return abs, di, nil
}
