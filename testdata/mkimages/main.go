// Command mkimages makes the local base images tfdev's tests and demo use
// (tfdev-test/busybox, tfdev-test/jupyter, tfdev-test/jupyter-server)
// through the Engine API, skipping those that exist. Run as root: the
// Jupyter images need debootstrap.
//
//	go run ./testdata/mkimages            # all three
//	go run ./testdata/mkimages busybox    # only the small one
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/docker/docker/client"

	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	eng, err := engine.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimages:", err)
		os.Exit(1)
	}
	eng.Close() // it answers: the recipes take a plain client
	api, err := testimage.Client()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimages:", err)
		os.Exit(1)
	}
	defer api.Close()
	which := map[string]bool{"busybox": true, "jupyter": true, "jupyter-server": true}
	if len(os.Args) > 1 {
		which = map[string]bool{}
		for _, a := range os.Args[1:] {
			which[a] = true
		}
	}
	if which["busybox"] {
		if err := testimage.EnsureBusybox(ctx, api); err != nil {
			fmt.Fprintln(os.Stderr, "mkimages: busybox:", err)
			os.Exit(1)
		}
		fmt.Println("mkimages:", testimage.Busybox, "ready")
	}
	// The two Debian images side by side: each is mostly debootstrap
	// waiting on the mirror.
	var wg sync.WaitGroup
	failed := make(chan string, 3)
	for _, img := range []struct {
		name, ref string
		ensure    func(context.Context, client.APIClient, io.Writer) error
	}{
		{"jupyter", testimage.Jupyter, testimage.EnsureJupyter},
		{"jupyter-server", testimage.JupyterServer, testimage.EnsureJupyterServer},
	} {
		if !which[img.name] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := img.ensure(ctx, api, prefixed(img.name)); err != nil {
				failed <- fmt.Sprintf("mkimages: %s: %v", img.name, err)
				return
			}
			fmt.Println("mkimages:", img.ref, "ready")
		}()
	}
	wg.Wait()
	if which["stacks"] || which["jupyter"] && len(failed) == 0 {
		// docker-stacks' shape, built on the Jupyter image.
		if err := testimage.EnsureStacks(ctx, api); err != nil {
			failed <- fmt.Sprintf("mkimages: stacks: %v", err)
		} else {
			fmt.Println("mkimages:", testimage.Stacks, "ready")
		}
	}
	close(failed)
	bad := false
	for msg := range failed {
		fmt.Fprintln(os.Stderr, msg)
		bad = true
	}
	if bad {
		os.Exit(1)
	}
}

// prefixed is stderr with each line of a tool's output prefixed by the
// image it makes, so two recipes' logs can be told apart.
func prefixed(name string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", name, sc.Text())
		}
		io.Copy(io.Discard, pr)
	}()
	return pw
}
