package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tfdev-dev/tfdev/watcher"
)

// ownerCache resolves COPY --chown values: numbers as they are, names
// through the container's own `id`.
type ownerCache struct {
	e  *Engine
	id string
	m  map[string][2]int
	// mount owns what no Dockerfile step copies (the workspace, a compose
	// bind mount): the container's user, as Jupyter runs as it and must
	// write what tfdev syncs there.
	mount string
}

// of is the owner r gives a synced file ("" root): its step's --chown, or
// the container's user for a rule that is not a step.
func (o *ownerCache) of(r *watcher.Rule) string {
	switch {
	case r == nil:
		return ""
	case r.Chown != "":
		return r.Chown
	case r.Line == 0 || r.File != "":
		return o.mount
	}
	return ""
}

// resolved is o with no Engine: what was resolved, for use while an
// upload holds the container.
func (o *ownerCache) resolved() *ownerCache { return &ownerCache{m: o.m, mount: o.mount} }

func (o *ownerCache) resolve(chown string) (int, int, error) {
	if v, ok := o.m[chown]; ok {
		return v[0], v[1], nil
	}
	if o.e == nil {
		return 0, 0, fmt.Errorf("--chown=%s was not resolved before the upload", chown)
	}
	user, group, hasGroup := strings.Cut(chown, ":")
	uid, err := o.number(user, "-u")
	if err != nil {
		return 0, 0, err
	}
	gid := uid
	if hasGroup {
		if gid, err = strconv.Atoi(group); err != nil {
			gid, err = o.number(user, "-g") // a group name: take the user's primary group
			if err != nil {
				return 0, 0, err
			}
		}
	} else if _, err := strconv.Atoi(user); err != nil {
		if gid, err = o.number(user, "-g"); err != nil {
			return 0, 0, err
		}
	}
	o.m[chown] = [2]int{uid, gid}
	return uid, gid, nil
}

func (o *ownerCache) number(name, flag string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	out, err := o.e.ExecOK(context.Background(), o.id, "id", flag, name)
	if err != nil {
		return 0, fmt.Errorf("--chown=%s: %w", name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(out)))
}
