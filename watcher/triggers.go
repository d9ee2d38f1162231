package watcher

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	gitignore "github.com/sabhiram/go-gitignore"
)

// TfdevIgnoreFile names paths that never trigger anything although they are
// in the build context (checkpoints a training run writes, say). Its syntax
// is gitignore's, on purpose unlike .dockerignore.
const TfdevIgnoreFile = ".tfdevignore"

// TriggerFilter says which paths never trigger work: .git, editors' temp and
// swap files, and whatever .tfdevignore lists.
type TriggerFilter struct {
	user *gitignore.GitIgnore // nil without a .tfdevignore
}

// LoadTriggerFilter reads dir/.tfdevignore if there is one.
func LoadTriggerFilter(dir string) (*TriggerFilter, error) {
	p := filepath.Join(dir, TfdevIgnoreFile)
	if _, err := os.Stat(p); os.IsNotExist(err) {
		return &TriggerFilter{}, nil
	}
	gi, err := gitignore.CompileIgnoreFile(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", TfdevIgnoreFile, err)
	}
	return &TriggerFilter{user: gi}, nil
}

// NewTriggerFilter compiles gitignore-syntax lines, for tests and config.
func NewTriggerFilter(lines ...string) *TriggerFilter {
	if len(lines) == 0 {
		return &TriggerFilter{}
	}
	return &TriggerFilter{user: gitignore.CompileIgnoreLines(lines...)}
}

// Why returns why a change to rel never triggers anything, or "".
func (f *TriggerFilter) Why(rel string, isDir bool) string {
	rel = cleanRel(rel)
	if rel == ".git" || strings.HasPrefix(rel, ".git/") {
		return "inside .git"
	}
	if rel == ".tfdev" || strings.HasPrefix(rel, ".tfdev/") {
		return "tfdev's own folder (rescued files)"
	}
	if !isDir && IsEditorTemp(path.Base(rel)) {
		return "an editor's temporary file"
	}
	if strings.HasPrefix(path.Base(rel), ".tfdev-") {
		return "tfdev's own temporary file"
	}
	if f != nil && f.user != nil {
		p := rel
		if isDir {
			p += "/"
		}
		if f.user.MatchesPath(p) {
			return "listed in " + TfdevIgnoreFile
		}
	}
	return ""
}

// IsEditorTemp reports whether a file name is one editors write on the way
// to saving another file: vim swap files and its 4913 probe, JetBrains safe
// write files, emacs lock and auto-save files, backup files, and the
// temporary file of `sed -i` (GNU sed's "sed" and six random characters).
func IsEditorTemp(name string) bool {
	if isSedTemp(name) {
		return true
	}
	switch {
	case name == "4913",
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, ".#"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") && len(name) > 1,
		strings.HasSuffix(name, "___jb_tmp___"),
		strings.HasSuffix(name, "___jb_old___"):
		return true
	}
	// vim: .name.swp, .swo, .swn ... and .swx
	if strings.HasPrefix(name, ".") {
		ext := path.Ext(name)
		if len(ext) == 4 && strings.HasPrefix(ext, ".sw") && ext[3] >= 'a' && ext[3] <= 'z' {
			return true
		}
	}
	return false
}

func isSedTemp(name string) bool {
	if len(name) != 9 || !strings.HasPrefix(name, "sed") {
		return false
	}
	for _, r := range name[3:] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
