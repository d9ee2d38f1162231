package doctor

import (
	"cmp"
	"fmt"
	"path"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/watcher"
)

// Checks learnt from public projects as they are: a Dockerfile that copies
// no source, a Jupyter that serves another folder than the code's, moving
// base tags, packages installed unpinned on a RUN line, apt installs that
// leave recommends and lists in the layer.

// noSource: no step puts the project's source in the image.
func (c *checker) noSource() {
	if dockerfile.CopiesSource(c.p.Rules) || len(c.p.Rules.Mounts) > 0 && c.p.Workspace == "" {
		return // copied, or a compose/devcontainer mount puts it there
	}
	line := c.target().Line
	if c.p.Workspace != "" {
		c.add(Finding{
			Rule: "no-source", Severity: Info, Line: line,
			Message: fmt.Sprintf("no step copies your source: tfdev syncs it into %s", c.p.Workspace),
			Cost:    "the image works only with tfdev (or a bind mount) beside it: a teammate's docker run, or CI, has no code",
			Fix:     fmt.Sprintf("add COPY . %s at the end of the Dockerfile so the image works without tfdev", c.p.Workspace),
		})
		return
	}
	c.add(Finding{
		Rule: "no-source", Severity: Warning, Line: line,
		Message: "no step copies your source, and where Jupyter serves is not known yet (the base image is not here)",
		Cost:    "tfdev has nowhere to sync your code until the base image is pulled",
		Fix:     "add COPY . /tf (the folder your Jupyter serves) at the end of the Dockerfile, or pull the base image first",
	})
}

// servedVsCode: Jupyter serves one folder and the code lands in another.
func (c *checker) servedVsCode() {
	served := c.o.ServedDir
	if served == "" {
		return
	}
	code := codeDir(c.p.Rules)
	if code == "" || code == served || strings.HasPrefix(code, strings.TrimSuffix(served, "/")+"/") {
		return
	}
	c.add(Finding{
		Rule: "served-vs-code", Severity: Warning, Line: c.codeLine(code),
		Message: fmt.Sprintf("Jupyter serves %s but your code is in %s", served, code),
		Cost:    "the notebook page opens on a folder without your code; notebooks you make there are not beside it",
		Fix: fmt.Sprintf("serve the code's folder (CMD [..., \"--notebook-dir=%s\"], or command: in compose.yaml), or copy the code to %s (COPY . %s)",
			code, served, served),
	})
}

// codeDir is where the project's whole tree lands in the container.
func codeDir(r watcher.Rules) string {
	for _, rule := range r.SyncRules() {
		if rule.Source == "." || rule.Source == "" {
			return path.Clean(rule.Dest)
		}
	}
	return ""
}

func (c *checker) codeLine(code string) int {
	for _, rule := range c.p.Rules.SyncRules() {
		if path.Clean(rule.Dest) == code && rule.File == "" && rule.Line > 0 {
			return rule.Line
		}
	}
	return c.target().Line
}

// movingTag: a base tag that moves: none (latest), a channel (:latest,
// :nightly, :edge, :latest-gpu), or only variant words with no version
// (:gpu-jupyter). A release name (:bookworm) is not.
func movingTag(ref string) bool {
	name := ref[strings.LastIndex(ref, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok {
		return true
	}
	words := strings.FieldsFunc(strings.ToLower(tag), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	variantOnly := true
	for _, w := range words {
		if channelWords[w] {
			return true
		}
		variantOnly = variantOnly && variantWords[w]
	}
	return variantOnly
}

var channelWords = map[string]bool{"latest": true, "nightly": true, "edge": true, "dev": true, "main": true, "master": true,
	"stable": true, "rolling": true, "current": true, "head": true}

var variantWords = map[string]bool{"gpu": true, "cpu": true, "jupyter": true, "cuda": true, "cudnn": true, "runtime": true,
	"devel": true, "py3": true, "slim": true}

// pipUnpinnedRun: `RUN pip install a b` with a package and no version.
func (c *checker) pipUnpinnedRun() {
	for _, s := range c.allSteps() {
		if s.Kind != "RUN" {
			continue
		}
		var loose []string
		for _, cmd := range shellCommands(s.Text) {
			loose = append(loose, unpinnedPackages(cmd)...)
		}
		if len(loose) == 0 {
			continue
		}
		c.add(Finding{
			Rule: "pip-unpinned-run", Severity: Warning, Line: s.Line,
			Message: fmt.Sprintf("%s installs %s with no version", strings.Join(loose, ", "), event.Plural(len(loose), "a package", "packages")),
			Cost:    "each rebuild may install another version: the image changes under you, and a teammate's differs",
			Fix:     fmt.Sprintf("pin them (%s==X.Y.Z), or list them with versions in requirements.txt", loose[0]),
		})
	}
}

// shellCommands splits a RUN line into its simple commands.
func shellCommands(run string) []string {
	run = strings.NewReplacer("&&", ";", "||", ";", "|", ";", "\\\n", " ").Replace(run)
	return strings.Split(run, ";")
}

// pipOptsWithValue are pip install options that take the next word.
var pipOptsWithValue = map[string]bool{"-r": true, "--requirement": true, "-c": true, "--constraint": true, "-e": true, "--editable": true,
	"-i": true, "--index-url": true, "--extra-index-url": true, "-f": true, "--find-links": true, "-t": true, "--target": true,
	"--prefix": true, "--root": true, "--platform": true, "--python-version": true, "--cache-dir": true, "--trusted-host": true}

// unpinnedPackages lists the packages a pip install command names with no
// exact version (== or @ or a file or URL).
func unpinnedPackages(cmd string) []string {
	w := strings.Fields(cmd)
	i := 0
	for i < len(w) && !(strings.HasSuffix(w[i], "pip") || strings.HasSuffix(w[i], "pip3") || w[i] == "uv") {
		i++
	}
	if i+1 >= len(w) || w[i+1] != "install" && !(w[i+1] == "pip" && i+2 < len(w) && w[i+2] == "install") {
		return nil
	}
	var out []string
	for j := i + 2; j < len(w); j++ {
		a := strings.Trim(w[j], `"'`)
		switch {
		case a == "install" || a == "pip":
		case pipOptsWithValue[a]:
			j++
		case strings.HasPrefix(a, "-"), strings.Contains(a, "$"):
		case strings.Contains(a, "==") || strings.Contains(a, "@") || strings.Contains(a, "/") || strings.HasPrefix(a, ".") ||
			strings.HasSuffix(a, ".whl") || strings.HasSuffix(a, ".tar.gz") || strings.HasSuffix(a, ".zip"):
		default:
			out = append(out, a)
		}
	}
	return out
}

// aptHygiene: apt-get install without --no-install-recommends, or without
// removing the package lists in the same RUN.
func (c *checker) aptHygiene() {
	for _, s := range c.allSteps() {
		if s.Kind != "RUN" || !strings.Contains(s.Text, "apt-get install") && !strings.Contains(s.Text, "apt install") {
			continue
		}
		var missing []string
		if !strings.Contains(s.Text, "--no-install-recommends") {
			missing = append(missing, "without --no-install-recommends")
		}
		if !strings.Contains(s.Text, "/var/lib/apt/lists") {
			missing = append(missing, "without removing /var/lib/apt/lists in the same RUN")
		}
		if len(missing) == 0 {
			continue
		}
		c.add(Finding{
			Rule: "apt-install-hygiene", Severity: Info, Line: s.Line,
			Message: "apt-get install runs " + strings.Join(missing, " and "),
			Cost:    "the layer carries recommended packages and the package lists you never use: tens to hundreds of MB in every pull and push",
			Fix:     "RUN apt-get update && apt-get install -y --no-install-recommends <packages> && rm -rf /var/lib/apt/lists/*",
		})
	}
}

// Base is a base image as the Engine and its registry know it.
type Base struct {
	Ref     string
	Present bool   // on the Engine
	Size    int64  // what a pull downloads, from the registry's manifest; 0 unknown
	Why     string // why the size is unknown
}

// basesAbsent: a base image the Engine does not have: the first build
// pulls it, and how big it is.
func (c *checker) basesAbsent() {
	for _, b := range c.o.Bases {
		if b.Present {
			continue
		}
		line := c.target().Line
		for _, st := range c.p.Model.Stages {
			if st.Base == b.Ref {
				line = st.Line
				break
			}
		}
		size := "its size is not known: " + b.Why
		if b.Size > 0 {
			size = event.HumanBytes(b.Size) + " to download, from the registry's manifest"
		}
		c.add(Finding{
			Rule: "base-not-present", Severity: Info, Line: line,
			Message: fmt.Sprintf("the base image %s is not on the Engine: the first build pulls it (%s)", b.Ref, size),
			Cost:    "the first tfdev up waits for the download before any step runs",
			Fix:     "tfdev pull beforehand (it shows bytes, rate and time left); with a teammate's push, tfdev up --cache-from REF also skips the build's own steps",
		})
	}
}

// cacheFromSuggestion: the project names an image in a registry and
// reuses no cache from one.
func (c *checker) cacheFromSuggestion() {
	if c.o.Registry == "" || len(c.o.CacheFrom) > 0 {
		return
	}
	ref := c.o.Registry
	c.add(Finding{
		Rule: "cache-from", Severity: Info, File: cmp.Or(c.o.RegistryIn, "tfdev.toml"),
		Message: fmt.Sprintf("the project names the image %s in a registry, and no build reuses a cache from it", ref),
		Cost:    "every machine builds every step itself: the dependency install, minutes, on each laptop and CI run",
		Fix:     fmt.Sprintf("push it with its cache once (tfdev build --push %s, on CI), then tfdev up --cache-from %s (or cache-from in tfdev.toml)", ref, ref),
	})
}
