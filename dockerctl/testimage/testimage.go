// Package testimage makes the base images tfdev's tests and demo run on,
// through the Engine API, on a machine that can pull nothing:
//
//   - tfdev-test/busybox: a static busybox (Debian's busybox-static) on an
//     empty root, with sh, sha256sum, tar, rm, cat: seconds to make;
//   - tfdev-test/jupyter: Debian bookworm from debootstrap with Jupyter
//     Notebook 6, pip and numpy, in the shape of
//     tensorflow/tensorflow:2.9.0-gpu-jupyter (WORKDIR /tf, EXPOSE 8888):
//     about three minutes to make;
//   - tfdev-test/jupyter-server: Debian trixie with jupyter_server 2 (what
//     Notebook 7 and JupyterLab 4 run on) and ipykernel, in the same shape.
//
// Each Ensure function does nothing when the image already exists.
package testimage

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
)

// Image names.
const (
	Busybox       = "tfdev-test/busybox:1.35"
	Jupyter       = "tfdev-test/jupyter:bookworm"
	JupyterServer = "tfdev-test/jupyter-server:trixie"
)

// present reports whether ref exists; an image an earlier version of the
// recipe tagged :latest is tagged ref instead of being made again.
func present(ctx context.Context, api client.APIClient, ref string) (bool, error) {
	if ok, err := Exists(ctx, api, ref); err != nil || ok {
		return ok, err
	}
	old := ref[:strings.LastIndex(ref, ":")] + ":latest"
	if ok, err := Exists(ctx, api, old); err != nil || !ok {
		return false, err
	}
	return true, api.ImageTag(ctx, old, ref)
}

// Exists reports whether ref is present in the Engine.
func Exists(ctx context.Context, api client.APIClient, ref string) (bool, error) {
	_, err := api.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if errdefs.IsNotFound(err) {
		return false, nil
	}
	return false, err
}

// BusyboxBinary is where Debian's busybox-static installs its binary.
var BusyboxBinary = "/bin/busybox"

// EnsureBusybox imports tfdev-test/busybox unless it exists.
func EnsureBusybox(ctx context.Context, api client.APIClient) error {
	if ok, err := present(ctx, api, Busybox); err != nil || ok {
		return err
	}
	bin, err := os.Open(BusyboxBinary)
	if err != nil {
		return fmt.Errorf("%w (install Debian's busybox-static)", err)
	}
	defer bin.Close()
	fi, err := bin.Stat()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, BusyboxBinary, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", BusyboxBinary, err)
	}
	applets := strings.Fields(string(out))

	pr, pw := io.Pipe()
	go func() {
		// tar.Writer keeps its first error and returns it from every later
		// call, Close included: the CloseWithError below reports it.
		tw := tar.NewWriter(pw)
		now := time.Unix(0, 0)
		dirs := []struct {
			name string
			mode int64
		}{{"bin/", 0o755}, {"etc/", 0o755}, {"tmp/", 0o1777}, {"root/", 0o700}, {"usr/", 0o755}, {"usr/bin/", 0o755}}
		for _, d := range dirs {
			tw.WriteHeader(&tar.Header{Name: d.name, Typeflag: tar.TypeDir, Mode: d.mode, ModTime: now})
		}
		tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: fi.Size(), ModTime: now})
		if _, err := io.Copy(tw, bin); err != nil {
			pw.CloseWithError(err)
			return
		}
		for _, a := range applets {
			if a == "busybox" {
				continue
			}
			tw.WriteHeader(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: now})
		}
		passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
		group := "root:x:0:\nnogroup:x:65534:\n"
		for name, body := range map[string]string{"etc/passwd": passwd, "etc/group": group} {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body)), ModTime: now})
			io.WriteString(tw, body)
		}
		pw.CloseWithError(tw.Close())
	}()
	return importImage(ctx, api, pr, Busybox, []string{
		`ENV PATH=/bin:/usr/bin`,
		`CMD ["sh"]`,
	})
}

func importImage(ctx context.Context, api client.APIClient, r io.Reader, ref string, changes []string) error {
	rc, err := api.ImageImport(ctx, image.ImportSource{Source: r, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("importing %s: %w", ref, err)
	}
	defer rc.Close()
	msg, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("importing %s: %w", ref, err)
	}
	if strings.Contains(string(msg), `"error"`) {
		return fmt.Errorf("importing %s: %s", ref, msg)
	}
	return nil
}

// ErrNoMirror means no Debian mirror could be found for debootstrap.
var ErrNoMirror = errors.New("no Debian mirror: set TFDEV_DEBIAN_MIRROR or configure apt sources")

// Client connects to the Engine the environment names (DOCKER_HOST, else
// the local socket), for the recipes above.
func Client() (*client.Client, error) {
	return client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
}
