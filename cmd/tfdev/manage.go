package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/tfdev-dev/tfdev/dockerctl"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
)

func newDownCmd() *cobra.Command {
	var pf projectFlags
	var rmi bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop and remove the project's container, rescuing your files first",
		Long: `Stop and remove this project's container. Files you made or changed in it
(notebooks, outputs) are copied back to the project first; where the host
changed too they go to .tfdev/rescued/. Images are kept unless --rmi.`,
		Example: `  tfdev down
  tfdev down -C testdata/demo --rmi`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := pf.load()
			if err != nil {
				return err
			}
			return withEngine(cmd, func(ctx context.Context, eng *engine.Engine) error {
				return down(ctx, cmd, eng, p, rmi)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().BoolVar(&rmi, "rmi", false, "also remove the project's images")
	return cmd
}

// down asks a running `tfdev up` of the project to stop, then brings home
// what the user made in each container of the project (while it runs,
// when it does), stops and removes it.
func down(ctx context.Context, cmd *cobra.Command, eng *engine.Engine, p *dockerfile.Project, rmi bool) error {
	out := cmd.OutOrStdout()
	if err := stopSession(ctx, out, p.Dir); err != nil {
		return err
	}
	ids, err := eng.ProjectContainers(ctx, p.Dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		c, err := eng.Inspect(ctx, id)
		if err != nil {
			return err
		}
		rs, home, err := dockerctl.Retire(ctx, eng, p, c)
		for _, r := range rs {
			fmt.Fprintln(out, r.Event(p.Dir).Plain())
		}
		if err != nil {
			return err
		}
		if home {
			fmt.Fprintf(out, "tfdev: removed container %s (its files came home when tfdev up stopped it)\n", c.Name)
			continue
		}
		fmt.Fprintf(out, "tfdev: removed container %s\n", c.Name)
	}
	if len(ids) == 0 {
		fmt.Fprintln(out, "tfdev: no container for this project")
	}
	if rmi {
		imgs, err := eng.ProjectImages(ctx, p.Dir)
		if err != nil {
			return err
		}
		for _, im := range imgs {
			if err := eng.RemoveImage(ctx, im.ID, true); err != nil {
				return err
			}
			fmt.Fprintf(out, "tfdev: removed image %s\n", im.ID)
		}
	}
	return nil
}

func newStatusCmd() *cobra.Command {
	var pf projectFlags
	var output string
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the project's container, image, Jupyter URL and last build",
		Example: "  tfdev status\n  tfdev status --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := filepath.Abs(pf.dir)
			if err != nil {
				return badInput(err)
			}
			return withEngine(cmd, func(ctx context.Context, eng *engine.Engine) error {
				return status(ctx, cmd, eng, dir, output)
			})
		},
	}
	cmd.Flags().StringVarP(&pf.dir, "dir", "C", ".", "project directory")
	cmd.Flags().StringVarP(&output, "output", "o", "plain", "plain or json")
	return cmd
}

func status(ctx context.Context, cmd *cobra.Command, eng *engine.Engine, dir, output string) error {
	c, err := eng.Find(ctx, dir)
	if err != nil {
		return err
	}
	st, err := statefile.ReadState(dir)
	if err != nil {
		return err
	}
	stopped, err := stoppedContainer(ctx, eng, dir, c)
	if err != nil {
		return err
	}
	type status struct {
		Running   bool             `json:"running"`
		Stopped   bool             `json:"stopped,omitempty"`
		Container string           `json:"container,omitempty"`
		Image     string           `json:"image,omitempty"`
		URL       string           `json:"url,omitempty"`
		GPU       bool             `json:"gpu"`
		LastBuild statefile.State  `json:"last_build"`
		Engine    engineInfo       `json:"engine"`
		Conflicts []model.Conflict `json:"conflicts"` // files changed on both sides, not merged yet
	}
	conflicts, err := statefile.ReadConflicts(dir)
	if err != nil {
		return err
	}
	if conflicts == nil {
		conflicts = []model.Conflict{} // [] in JSON: none, not unknown
	}
	s := status{LastBuild: st, Engine: describeEngine(ctx, eng), Conflicts: conflicts}
	if c != nil {
		s.Running, s.Container, s.Image, s.URL, s.GPU = true, c.Name, c.Image, c.URL(), c.GPU
		switch {
		case statefile.LockHolder(dir) != 0 && st.URL != "":
			s.URL = st.URL // a session runs: its front door's URL, which stays the same
		case c.Unpublished:
			s.URL = "" // reached only through the Engine (--jupyter-via exec), by a running tfdev up
		}
	} else if stopped != nil {
		s.Stopped, s.Container, s.Image = true, stopped.Name, stopped.Image
	}
	out := cmd.OutOrStdout()
	if output == "json" {
		return json.NewEncoder(out).Encode(s)
	}
	fmt.Fprintln(out, "engine:    "+s.Engine.String())
	printStatus(out, c, stopped, st, s.URL)
	printConflicts(out, conflicts)
	return nil
}

// printConflicts lists the files changed on both sides that are not merged
// yet, with where each copy is.
func printConflicts(out io.Writer, cs []model.Conflict) {
	if len(cs) == 0 {
		return
	}
	fmt.Fprintf(out, "conflicts: %d not resolved (merge into the project's file and save it, or save it in Jupyter)\n", len(cs))
	for _, c := range cs {
		fmt.Fprintf(out, "  %s: yours in place; the container's (%s) at %s\n", c.File, c.From, c.Copy)
	}
}

// engineInfo names the Engine: where, how it is reached, and whether it
// has GPUs.
type engineInfo struct {
	Name    string `json:"name"`    // "Podman 4.3.1 (rootful)", "Docker Engine 28.5.1"
	Builder string `json:"builder"` // what builds images there: BuildKit, or Podman's Buildah
	Host    string `json:"host"`
	Via     string `json:"via"` // unix, ssh, tcp
	Remote  bool   `json:"remote"`
	API     string `json:"api"`
	GPU     bool   `json:"gpu"`
	Why     string `json:"gpu_reason,omitempty"`
}

func describeEngine(ctx context.Context, eng *engine.Engine) engineInfo {
	via, _, _ := strings.Cut(eng.Host, "://")
	e := engineInfo{Name: eng.Name(), Builder: "BuildKit", Host: eng.Host, Via: via, Remote: via != "unix" && via != "npipe", API: eng.APIVersion}
	if eng.Podman() {
		e.Builder = "Buildah, the context as a tar"
	}
	if gpu, _, err := eng.Capabilities(ctx); err == nil {
		e.GPU, e.Why = gpu.Available, gpu.Why
	}
	return e
}

func (e engineInfo) String() string {
	where := "local"
	if e.Remote {
		where = "remote, over " + e.Via
	}
	gpu := "no GPU"
	if e.GPU {
		gpu = "GPU"
	}
	return fmt.Sprintf("%s at %s (API %s, %s, builds with %s, %s)", e.Name, e.Host, e.API, where, e.Builder, gpu)
}

// printStatus writes status as lines.
func printStatus(out io.Writer, c, stopped *model.Container, st statefile.State, url string) {
	switch {
	case c == nil && stopped != nil:
		fmt.Fprintf(out, "container: %s (stopped; tfdev up starts it again, tfdev down brings its files home and removes it)\n", stopped.Name)
	case c == nil:
		fmt.Fprintln(out, "container: none running (tfdev up starts one)")
	default:
		mode := "CPU"
		if c.GPU {
			mode = "GPU"
		}
		img := c.Image
		switch {
		case st.LiveContainer == c.ID && st.LiveVia == "syncs":
			img += " + synced files (matches the last build, " + st.Image + "; tfdev up --replace-now for a container of it)"
		case st.LiveContainer == c.ID:
			img += " + live install (matches the last build, " + st.Image + "; tfdev up --replace-now for a container of it)"
		}
		if url == "" {
			url = "none: Jupyter is published nowhere (--jupyter-via exec); tfdev up serves it"
		}
		fmt.Fprintf(out, "container: %s (%s)\nimage:     %s\nurl:       %s\n", c.Name, mode, img, url)
	}
	if st.Image != "" {
		fmt.Fprintf(out, "last build: %s, %.1fs with %s, %s\n", st.BuiltAt.Format("2006-01-02 15:04:05"), st.BuildSeconds, st.Builder, st.Image)
	}
	if st.ConfiguredBy != "" {
		fmt.Fprintf(out, "configured by: %s\n", st.ConfiguredBy)
	}
}

func newLogsCmd() *cobra.Command {
	var dir string
	var follow bool
	var tail string
	cmd := &cobra.Command{
		Use:     "logs [-f]",
		Short:   "Print the project's container's logs",
		Example: "  tfdev logs\n  tfdev logs -f --tail 50",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return badInput(err)
			}
			return withEngine(cmd, func(ctx context.Context, eng *engine.Engine) error {
				return logs(ctx, cmd, eng, abs, follow, tail)
			})
		},
	}
	cmd.Flags().StringVarP(&dir, "dir", "C", ".", "project directory")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines")
	cmd.Flags().StringVar(&tail, "tail", "all", "number of lines from the end")
	return cmd
}

func logs(ctx context.Context, cmd *cobra.Command, eng *engine.Engine, abs string, follow bool, tail string) error {
	c, err := eng.Find(ctx, abs)
	if err != nil {
		return err
	}
	if c == nil {
		return fmt.Errorf("no running container for %s (tfdev up starts one)", abs)
	}
	return eng.Logs(ctx, c.ID, follow, tail, cmd.OutOrStdout(), cmd.ErrOrStderr())
}

// sessionStopWait bounds how long down waits for a running session to
// bring its files home and stop.
const sessionStopWait = 2 * time.Minute

// stopSession asks the project's running `tfdev up`, if any, to stop (as
// Ctrl-C would: it brings the files home and stops the container), and
// waits until it has.
func stopSession(ctx context.Context, out io.Writer, dir string) error {
	pid := statefile.LockHolder(dir)
	if pid == 0 || pid == os.Getpid() {
		return nil
	}
	proc, err := os.FindProcess(pid)
	if err == nil {
		err = proc.Signal(syscall.SIGTERM)
	}
	if err != nil {
		return fmt.Errorf("asking the running tfdev up (pid %d) to stop: %w", pid, err)
	}
	fmt.Fprintf(out, "tfdev: asked the running tfdev up (pid %d) to stop; waiting for it\n", pid)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(sessionStopWait)
	for statefile.LockHolder(dir) != 0 {
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("the running tfdev up (pid %d) did not stop within %v; stop it, then run tfdev down again", pid, sessionStopWait)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stoppedContainer is a stopped container of the project when none runs.
func stoppedContainer(ctx context.Context, eng *engine.Engine, dir string, running *model.Container) (*model.Container, error) {
	if running != nil {
		return nil, nil
	}
	ids, err := eng.ProjectContainers(ctx, dir)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return eng.Inspect(ctx, ids[0])
}
