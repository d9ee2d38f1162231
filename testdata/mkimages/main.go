// Command mkimages makes the local base images tfdev's tests and demo use
// (tfdev-test/busybox, tfdev-test/jupyter) through the Engine API, skipping
// those that exist. Run as root: the Jupyter image needs debootstrap.
//
//	go run ./testdata/mkimages            # both
//	go run ./testdata/mkimages busybox    # only the small one
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

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
	if which["jupyter"] {
		if err := testimage.EnsureJupyter(ctx, api, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "mkimages: jupyter:", err)
			os.Exit(1)
		}
		fmt.Println("mkimages:", testimage.Jupyter, "ready")
	}
	if which["jupyter-server"] {
		if err := testimage.EnsureJupyterServer(ctx, api, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "mkimages: jupyter-server:", err)
			os.Exit(1)
		}
		fmt.Println("mkimages:", testimage.JupyterServer, "ready")
	}
}
