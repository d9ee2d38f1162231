package dockerfile

import (
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// ArgDecl is one ARG of the Dockerfile.
type ArgDecl struct {
	Name       string
	Line       int
	HasDefault bool
	Stage      int // -1: a global ARG, before the first FROM
	// UsedBy is the first line of a RUN of its stage that reads it, 0 when
	// none does.
	UsedBy int
}

// Args lists the ARGs of the Dockerfile's stages (a global ARG reaches a
// RUN only when its stage declares it again), in file order, with the first RUN
// after each (in its stage) that reads it.
func (m *Model) Args() []ArgDecl {
	var out []ArgDecl
	add := func(st Step) {
		c, ok := st.cmd.(*instructions.ArgCommand)
		if !ok {
			return
		}
		for _, kv := range c.Args {
			out = append(out, ArgDecl{Name: kv.Key, Line: st.Line, HasDefault: kv.Value != nil, Stage: st.Stage})
		}
	}
	for _, s := range m.Stages {
		for _, st := range s.Steps {
			add(st)
			if st.Kind != "RUN" {
				continue
			}
			for i := range out {
				if d := &out[i]; d.Stage == st.Stage && d.UsedBy == 0 && d.Line < st.Line && readsVar(st.Text, d.Name) {
					d.UsedBy = st.Line
				}
			}
		}
	}
	return out
}

// readsVar reports whether shell text reads $name or ${name...}.
func readsVar(text, name string) bool {
	return regexp.MustCompile(`\$(` + regexp.QuoteMeta(name) + `\b|\{` + regexp.QuoteMeta(name) + `[}:\-+?=#%])`).MatchString(text)
}

// hostIDNames are the ARG names projects give the host user's uid and gid.
var hostIDNames = map[string]string{
	"UID": "uid", "USER_ID": "uid", "USER_UID": "uid", "HOST_UID": "uid", "USERID": "uid",
	"GID": "gid", "GROUP_ID": "gid", "USER_GID": "gid", "HOST_GID": "gid", "GROUPID": "gid",
}

// HostIDArg says whether an ARG name is one projects use for the host
// user's "uid" or "gid" ("" when neither), whatever its case.
func HostIDArg(name string) string { return hostIDNames[strings.ToUpper(name)] }
