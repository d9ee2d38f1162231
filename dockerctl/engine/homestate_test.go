package engine

import (
	"slices"
	"testing"
)

// The home passwd gives a container's user, by name or uid, with or
// without a group; root when the image names none.
func TestHomeIn(t *testing.T) {
	passwd := "root:x:0:0:root:/root:/bin/bash\nusers:x:100:100::/nonexistent:/usr/sbin/nologin\njovyan:x:1000:100::/home/jovyan:/bin/bash\n"
	for user, want := range map[string]string{"": "/root", "jovyan": "/home/jovyan", "1000": "/home/jovyan", "1000:100": "/home/jovyan", "jovyan:users": "/home/jovyan", "nobody": ""} {
		if got := homeIn(passwd, user); got != want {
			t.Errorf("homeIn(%q) = %q, want %q", user, got, want)
		}
	}
}

// What is the user's own state in its home, and what is the project's.
func TestHomeStateOf(t *testing.T) {
	var state []string
	for _, p := range []string{
		"/home/jovyan/.local/share/jupyter/runtime/jupyter_cookie_secret", "/home/jovyan/.jupyter", "/home/jovyan/.ipython/profile_default/startup/00-tfdev-autoreload.py",
		"/home/jovyan/analysis.ipynb", "/home/jovyan/src/.config/x", "/home/jovyanx/.local/y", "/home/jovyan/.localx",
	} {
		if s := homeStateOf("/home/jovyan", p); s != "" {
			state = append(state, s)
		}
	}
	if want := []string{"/home/jovyan/.local", "/home/jovyan/.jupyter", "/home/jovyan/.ipython"}; !slices.Equal(state, want) {
		t.Errorf("state %v, want %v", state, want)
	}
}
