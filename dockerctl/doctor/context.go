package doctor

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/tfdev-dev/tfdev/watcher"
)

// dockerignore: no file, or what it lets into the context. (Check 2.)
func (c *checker) dockerignore() {
	di := c.p.Rules.Ignore
	file := ".dockerignore"
	if di == nil || di.File == "" {
		c.add(Finding{
			Rule: "no-dockerignore", Severity: Warning, File: ".dockerignore",
			Message: "no .dockerignore: everything in the folder is sent to every build",
			Cost:    "a larger upload on each build, and caches invalidated by files the image never uses (.git, __pycache__, data)",
			Fix:     "add one; `tfdev init` writes one in Docker's semantics:\n" + strings.TrimSpace(DockerignoreTemplate),
		})
	} else {
		file = di.File
	}
	rootOnlyPyc := di != nil && slices.Contains(di.Patterns, "*.pyc")
	c.leaks(file, rootOnlyPyc)
	c.largeFiles(file)
}

// leakPatterns are what to add to .dockerignore for each kind of leak.
var leakPatterns = map[string]string{
	".git": ".git", "__pycache__": "**/__pycache__", ".ipynb_checkpoints": "**/.ipynb_checkpoints",
	"logs": "logs", "data": "data", "*.pyc": "**/*.pyc", ".tfdev": ".tfdev",
}

// leaks reports what the context holds that images seldom want.
func (c *checker) leaks(file string, rootOnlyPyc bool) {
	found := map[string]string{}
	for _, f := range c.files {
		leaksOf(f.Rel, found)
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		example := found[k]
		pat := leakPatterns[k]
		if k == "venv" {
			pat = example
		}
		msg := fmt.Sprintf("the build context includes %s (%s)", k, example)
		if k == "*.pyc" && rootOnlyPyc {
			msg += `; note that "*.pyc" in .dockerignore matches only at the context root`
		}
		c.add(Finding{
			Rule: "context-" + strings.Trim(k, "*."), Severity: Warning, File: file,
			Message: msg,
			Cost:    "sent with every build, and a change to it can invalidate a COPY layer for nothing",
			Fix:     "add to .dockerignore: " + pat,
		})
	}
}

// leaksOf records in found the first example of each kind of leak that
// the context path rel shows.
func leaksOf(rel string, found map[string]string) {
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		dir := strings.Join(parts[:i+1], "/")
		inside := i < len(parts)-1
		switch {
		case inside && (part == ".git" || part == "__pycache__" || part == ".ipynb_checkpoints"):
			setOnce(found, part, dir)
		case i == 0 && inside && (part == "logs" || part == "data"):
			setOnce(found, part, dir)
		case i == 0 && inside && part == ".tfdev": // tfdev's own: what it kept and the conflicts' other sides
			setOnce(found, ".tfdev", dir)
		case part == "pyvenv.cfg" && i > 0:
			setOnce(found, "venv", path.Dir(rel))
		}
	}
	if strings.HasSuffix(rel, ".pyc") && !strings.Contains(rel, "__pycache__") {
		setOnce(found, "*.pyc", rel)
	}
}

// largeFiles reports the context's files of LargeFile or more, largest
// first.
func (c *checker) largeFiles(file string) {
	var total int64
	var bigs []watcher.ContextEntry
	for _, f := range c.files {
		total += f.Size
		if f.Size >= c.o.LargeFile {
			bigs = append(bigs, f)
		}
	}
	sort.Slice(bigs, func(i, j int) bool { return bigs[i].Size > bigs[j].Size })
	for _, b := range bigs {
		c.add(Finding{
			Rule: "context-large-file", Severity: Warning, File: file,
			Message: fmt.Sprintf("%s (%s) is in the build context (%s in all, %d files)", b.Rel, human(b.Size), human(total), len(c.files)),
			Cost:    "uploaded to the Engine on every build",
			Fix:     "exclude it in .dockerignore and mount or download it at run time",
		})
	}
}

func setOnce(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
