package testimage

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// Stacks is a base in the shape of Jupyter's docker-stacks images
// (jupyter/scipy-notebook and kin): the user jovyan, 1000:100, whose home
// /home/jovyan is the working directory and the folder Jupyter serves, a
// start script as the command, and Jupyter's state (.local, .jupyter,
// .ipython) in that home.
const Stacks = "tfdev-test/stacks:bookworm"

const stacksDockerfile = `FROM ` + Jupyter + `
RUN useradd -m -s /bin/bash -N -u 1000 -g 100 jovyan
COPY start-notebook.sh /usr/local/bin/start-notebook.sh
USER jovyan
WORKDIR /home/jovyan
EXPOSE 8888
CMD ["start-notebook.sh"]
`

const stacksStart = `#!/bin/bash
# As docker-stacks' start-notebook.sh does, in short: Jupyter as jovyan,
# serving the home folder.
exec jupyter notebook --notebook-dir=/home/jovyan --ip=0.0.0.0 --no-browser "$@"
`

// EnsureStacks builds tfdev-test/stacks on the Jupyter image unless it
// exists (the Jupyter image must).
func EnsureStacks(ctx context.Context, api client.APIClient) error {
	if ok, err := present(ctx, api, Stacks); err != nil || ok {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name, body string
		mode       int64
	}{{"Dockerfile", stacksDockerfile, 0o644}, {"start-notebook.sh", stacksStart, 0o755}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			return err
		}
		io.WriteString(tw, f.body)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := api.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{Stacks}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		return fmt.Errorf("building %s: %w", Stacks, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("building %s: %w", Stacks, err)
	}
	if strings.Contains(string(out), `"errorDetail"`) {
		return fmt.Errorf("building %s: %s", Stacks, out)
	}
	return nil
}
