package testimage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker/docker/client"
	archive "github.com/moby/go-archive"
	"github.com/moby/go-archive/compression"
)

// JupyterPackages are installed on top of debootstrap's minbase.
var JupyterPackages = []string{"jupyter-notebook", "python3-notebook", "python3-pip", "python3-numpy", "python3-dill", "procps"}

// JupyterServerPackages make jupyter_server 2 (what Notebook 7 and
// JupyterLab 4 run on) from trixie: debootstrap does not resolve the
// virtual package python3-zmq needs, hence cffi-backend; the jupyter
// command is in jupyter-core.
var JupyterServerPackages = []string{"python3-jupyter-server", "python3-ipykernel", "python3-cffi-backend", "jupyter-core", "procps"}

// debianImage is a recipe: debootstrap --variant=minbase of a suite, its
// packages without recommends, files written into the root, and the
// image's config.
type debianImage struct {
	ref, suite string
	packages   []string
	files      map[string]string // path in the root -> an executable's text
	config     []string
}

var jupyterRecipe = debianImage{ref: Jupyter, suite: "bookworm", packages: JupyterPackages, config: []string{
	`WORKDIR /tf`,
	`EXPOSE 8888`,
	`ENV PIP_BREAK_SYSTEM_PACKAGES=1`,
	`ENV SHELL=/bin/bash`,
	`CMD ["bash","-c","jupyter notebook --notebook-dir=/tf --ip 0.0.0.0 --no-browser --allow-root"]`,
}}

var jupyterServerRecipe = debianImage{ref: JupyterServer, suite: "trixie", packages: JupyterServerPackages,
	// `jupyter server` looks for a jupyter-server script on PATH, which
	// Debian's package does not install.
	files: map[string]string{"usr/local/bin/jupyter-server": "#!/bin/sh\nexec python3 -m jupyter_server \"$@\"\n"},
	config: []string{
		`WORKDIR /tf`,
		`EXPOSE 8888`,
		`ENV PIP_BREAK_SYSTEM_PACKAGES=1`,
		`ENV SHELL=/bin/bash`,
		`CMD ["jupyter","server","--ServerApp.root_dir=/tf","--ip=0.0.0.0","--no-browser","--allow-root"]`,
	}}

// EnsureJupyter makes tfdev-test/jupyter unless it exists: debootstrap
// --variant=minbase bookworm, the Jupyter packages without recommends, apt
// lists and caches removed, imported through the Engine API with the shape
// of tensorflow/tensorflow:2.9.0-gpu-jupyter. Needs root and debootstrap.
// log receives the tools' output.
func EnsureJupyter(ctx context.Context, api client.APIClient, log io.Writer) error {
	return jupyterRecipe.ensure(ctx, api, log)
}

// EnsureJupyterServer makes tfdev-test/jupyter-server (jupyter_server 2
// on trixie, in the same shape) unless it exists.
func EnsureJupyterServer(ctx context.Context, api client.APIClient, log io.Writer) error {
	return jupyterServerRecipe.ensure(ctx, api, log)
}

func (d debianImage) ensure(ctx context.Context, api client.APIClient, log io.Writer) error {
	if ok, err := present(ctx, api, d.ref); err != nil || ok && d.current(ctx, api) {
		return err
	}
	mirror, err := DebianMirror()
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "tfdev-"+d.suite+"-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	run := func(name string, args ...string) error {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
		return nil
	}
	if err := run("debootstrap", "--variant=minbase", d.suite, root, mirror); err != nil {
		return err
	}
	if err := run("chroot", root, "apt-get", "update"); err != nil {
		return err
	}
	install := append([]string{root, "apt-get", "install", "-y", "--no-install-recommends"}, d.packages...)
	if err := run("chroot", install...); err != nil {
		return err
	}
	if err := run("chroot", root, "apt-get", "clean"); err != nil {
		return err
	}
	for _, g := range []string{"var/lib/apt/lists/*", "var/cache/apt/*.bin", "tmp/*"} {
		// Trimming only (lists and caches make the image larger, not
		// wrong); the patterns are constant, so Glob cannot fail.
		matches, _ := filepath.Glob(filepath.Join(root, g))
		for _, m := range matches {
			_ = os.RemoveAll(m)
		}
	}
	for name, body := range d.files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "tf"), 0o755); err != nil {
		return err
	}
	rc, err := archive.Tar(root, compression.None)
	if err != nil {
		return err
	}
	defer rc.Close()
	return importImage(ctx, api, rc, d.ref, append(d.config, `LABEL `+packagesLabel+`="`+strings.Join(d.packages, " ")+`"`))
}

// packagesLabel holds the packages an image was made with: one made with
// fewer (before python3-dill) is made again.
const packagesLabel = "dev.tfdev.test.packages"

// current reports whether the image holds today's packages.
func (d debianImage) current(ctx context.Context, api client.APIClient) bool {
	info, err := api.ImageInspect(ctx, d.ref)
	return err == nil && info.Config != nil && info.Config.Labels[packagesLabel] == strings.Join(d.packages, " ")
}

// DebianMirror is the mirror debootstrap uses: TFDEV_DEBIAN_MIRROR, else
// the first Debian URI of this machine's apt sources.
func DebianMirror() (string, error) {
	if m := os.Getenv("TFDEV_DEBIAN_MIRROR"); m != "" {
		return m, nil
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources") // a constant pattern: no error
	for _, f := range files {
		if m := mirrorFrom(f, true); m != "" {
			return m, nil
		}
	}
	if m := mirrorFrom("/etc/apt/sources.list", false); m != "" {
		return m, nil
	}
	return "", ErrNoMirror
}

// mirrorFrom reads a deb822 .sources file or a one-line sources.list and
// returns the first URI of a main Debian archive (not -security).
func mirrorFrom(path string, deb822 bool) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var uri string
		switch {
		case deb822 && strings.HasPrefix(line, "URIs:"):
			fields := strings.Fields(strings.TrimPrefix(line, "URIs:"))
			if len(fields) > 0 {
				uri = fields[0]
			}
		case !deb822 && strings.HasPrefix(line, "deb "):
			fields := strings.Fields(line)
			for _, fld := range fields[1:] {
				if strings.Contains(fld, "://") {
					uri = fld
					break
				}
			}
		}
		if uri != "" && !strings.Contains(uri, "security") {
			return uri
		}
	}
	return ""
}
