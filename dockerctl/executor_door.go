package dockerctl

import (
	"context"
	_ "embed"
	"net"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/statefile"
)

// Jupyter through the Engine's own connection: each connection the front
// door makes to the container's Jupyter is an exec of a small relay
// (scripts/relay.py, the image's python3) that connects to Jupyter on the
// container's loopback. Nothing needs to be published, so it works where
// the Engine is remote; with a local Engine it is selectable
// (--jupyter-via exec) and tested on every run. The door's transport keeps
// connections alive, so an exec is paid per connection, not per request.

// How the front door reaches the container's Jupyter (--jupyter-via).
const (
	JupyterViaPublish = "publish" // the port published on the Engine's host loopback
	JupyterViaExec    = "exec"    // a relay through the Engine's exec
)

// switchDoor sends the front door's new requests to c's Jupyter, the way
// the session reaches it. ids are the kernels and sessions carried into c
// (old ID to new; nil: none carried, the old IDs stay as they are).
// What the door maps is saved for c (dir is the project's): a tfdev
// started again on the project that reattaches to c maps the same IDs.
func (x *executor) switchDoor(dir string, c *model.Container, ids map[string]string) (err error) {
	if ids != nil {
		x.door.Carry(ids)
		defer func() {
			if err != nil {
				x.door.Carry(nil)
			}
		}()
	} else if known := statefile.DoorIDs(dir, c.ID); known != nil {
		x.door.Restore(known) // pages open before a restart of tfdev
	}
	var dial func(ctx context.Context) (net.Conn, error)
	if x.o.JupyterVia == JupyterViaExec {
		id, port := c.ID, c.JupyterPort()
		dial = func(ctx context.Context) (net.Conn, error) { return x.eng.DialJupyter(ctx, id, port) }
	}
	err = x.door.SwitchContainer(c.ID, c.Base(), dial)
	if err == nil && dir != "" {
		if serr := statefile.SaveDoorIDs(dir, c.ID, x.door.Known()); serr != nil {
			x.emit(event.Event{Kind: event.Info, Message: "the kernel IDs open pages know could not be saved (" + serr.Error() + "); a page open across a restart of tfdev may need reloading"})
		}
	}
	return err
}

// runOptions says how to run a container of image.
func (x *executor) runOptions(dir, image string) model.RunOptions {
	// Published on a free loopback port of its own: users come in through
	// the front door, so a replacement can start beside the container that
	// serves.
	port := x.o.Port
	if x.door != nil {
		port = 0
	}
	o := model.RunOptions{Dir: dir, Image: image, HostIP: "127.0.0.1", HostPort: port, Token: x.o.Token, GPUs: x.o.GPUs, GPU: x.gpu, Env: x.o.Env, Run: x.o.Run,
		ViaExec: x.door != nil && x.o.JupyterVia == JupyterViaExec} // the door goes through exec: nothing to publish
	if o.ViaExec && x.o.Publish {
		// --publish: on the Engine's host too, for whoever is there.
		o.Publish, o.HostIP, o.HostPort = true, x.o.HostIP, x.o.Port
	}
	return o
}
