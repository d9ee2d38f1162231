package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// ownerCache resolves COPY --chown values: numbers as they are, names
// through the container's own `id`.
type ownerCache struct {
	e  *Engine
	id string
	m  map[string][2]int
}

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
