package doctor

import (
	"fmt"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
)

// argsWithoutDefault: an ARG with no default that a RUN reads, and that
// the build is not given, is empty in that RUN: `addgroup --gid $GROUP_ID`
// fails, or worse, does something else.
func (c *checker) argsWithoutDefault() {
	for _, a := range c.p.Model.Args() {
		if a.HasDefault || a.UsedBy == 0 {
			continue
		}
		if _, given := c.o.BuildArgs[a.Name]; given {
			continue
		}
		fix := fmt.Sprintf("give it a default (ARG %s=...), or pass it: tfdev up --build-arg %s=...", a.Name, a.Name)
		if dockerfile.HostIDArg(a.Name) != "" {
			fix = fmt.Sprintf("tfdev up passes your user's %s to it unless you are root or give --host-ids=false; or give it a default (ARG %s=1000)", dockerfile.HostIDArg(a.Name), a.Name)
		}
		c.add(Finding{
			Rule: "arg-without-default", Severity: Warning, File: c.df, Line: a.Line,
			Message: fmt.Sprintf("ARG %s has no default, and the RUN at line %d reads it: without --build-arg %s it is empty there", a.Name, a.UsedBy, a.Name),
			Cost:    "the build fails at that step, or builds something else",
			Fix:     fix,
		})
	}
}

// commandNotJupyter: the container's command clearly serves nothing (the
// tensorflow/tensorflow:2.x-gpu images run bash). tfdev up starts the
// image's own Jupyter then; one it cannot find is an error at start.
func (c *checker) commandNotJupyter() {
	if c.o.Command == nil || !dockerfile.StartsNoServer(c.o.Command) {
		return
	}
	line := 0
	for _, st := range c.p.Model.TargetStage().Steps {
		if st.Kind == "CMD" || st.Kind == "ENTRYPOINT" {
			line = st.Line
		}
	}
	c.add(Finding{
		Rule: "command-not-jupyter", Severity: Info, File: c.df, Line: line,
		Message: fmt.Sprintf("the container's command (%s) does not start Jupyter: tfdev up starts the image's own (jupyter lab, else jupyter notebook), serving the code's folder", strings.Join(c.o.Command, " ")),
		Cost:    "none while the image has Jupyter; without one tfdev up stops at the start with this",
		Fix:     "to start it yourself: CMD [\"jupyter\", \"lab\", \"--ip=0.0.0.0\", \"--no-browser\"] (or tfdev up --command); without Jupyter in the image: RUN pip install jupyterlab",
	})
}
