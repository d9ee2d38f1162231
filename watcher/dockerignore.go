package watcher

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// PatternError is a .dockerignore pattern that Docker would refuse.
type PatternError struct {
	File    string // the ignore file, relative to the context ("" for patterns given in code)
	Line    int    // 1-based line of the pattern in File
	Pattern string
	Err     error
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("%s:%d: bad pattern %q: %v", e.File, e.Line, e.Pattern, e.Err)
}

func (e *PatternError) Unwrap() error { return e.Err }

// DockerIgnore answers "is this path in the build context?" exactly as
// BuildKit does when it sends a context filtered by .dockerignore
// (tonistiigi/fsutil's filtered walk): a path is out when the patterns match
// it or one of its parents (last match wins), and an excluded directory is not
// even entered when no exception pattern can reach below it.
//
// It is safe for concurrent use.
type DockerIgnore struct {
	File     string   // ignore file that was read, relative to the context; "" when none
	Patterns []string // cleaned patterns, as ignorefile.ReadAll returns them
	Lines    []int    // Lines[i] is the line in File of Patterns[i]

	mu sync.Mutex // patternmatcher caches compiled patterns and is not concurrency-safe
	pm *patternmatcher.PatternMatcher
	// prefixOnlyExceptions mirrors fsutil's onlyPrefixExcludeExceptions: when
	// every exception is a plain path, an excluded directory that no
	// exception points into is pruned without being read.
	prefixOnlyExceptions bool
	single               []*patternmatcher.PatternMatcher // one matcher per pattern, for Why
	dirs                 map[string]dirMatch
}

type dirMatch struct {
	info     patternmatcher.MatchInfo
	excluded bool
	pruned   bool // the directory and everything below it is out of the context
}

// IgnoreFileFor returns the ignore file BuildKit reads for a build of
// contextDir with the given Dockerfile: <Dockerfile>.dockerignore beside the
// Dockerfile when it exists, else .dockerignore at the context root. The
// returned path is absolute; "" means there is none.
func IgnoreFileFor(contextDir, dockerfile string) string {
	if dockerfile != "" {
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(contextDir, dockerfile)
		}
		if p := dockerfile + ".dockerignore"; isFile(p) {
			return p
		}
	}
	if p := filepath.Join(contextDir, ".dockerignore"); isFile(p) {
		return p
	}
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// LoadDockerIgnore reads the ignore file that applies to a build of
// contextDir with dockerfile (see IgnoreFileFor). No file means no patterns.
func LoadDockerIgnore(contextDir, dockerfile string) (*DockerIgnore, error) {
	p := IgnoreFileFor(contextDir, dockerfile)
	if p == "" {
		return NewDockerIgnore("", nil)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading ignore file: %w", err)
	}
	name := p
	if rel, err := filepath.Rel(contextDir, p); err == nil && !strings.HasPrefix(rel, "..") {
		name = filepath.ToSlash(rel)
	}
	return ParseDockerIgnore(name, bytes.NewReader(data))
}

// ParseDockerIgnore reads ignore-file syntax from r with Docker's own reader
// (moby/patternmatcher/ignorefile) and checks every pattern, so that a bad one
// is reported with its line instead of failing the first build.
func ParseDockerIgnore(name string, r io.Reader) (*DockerIgnore, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	patterns, err := ignorefile.ReadAll(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := patternLines(data)
	if len(lines) != len(patterns) {
		// ignorefile and patternLines disagree on which lines are patterns;
		// lines are only for messages, so fall back to none rather than lie.
		lines = make([]int, len(patterns))
	}
	for i, p := range patterns {
		if err := checkPattern(p); err != nil {
			return nil, &PatternError{File: name, Line: lines[i], Pattern: p, Err: err}
		}
	}
	di, err := NewDockerIgnore(name, patterns)
	if err != nil {
		return nil, err
	}
	di.Lines = lines
	return di, nil
}

// patternLines returns the 1-based line of every line that ignorefile.ReadAll
// turns into a pattern, following its rules (BOM, '#' comments, blank lines).
func patternLines(data []byte) []int {
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		b := sc.Bytes()
		if n == 0 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		n++
		if bytes.HasPrefix(b, []byte("#")) || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		lines = append(lines, n)
	}
	return lines
}

// checkPattern compiles one pattern the way patternmatcher does on first use.
// An exception is compiled as the plain pattern it excepts: the matcher only
// compiles it once something before it matched, and BuildKit then fails.
func checkPattern(p string) error {
	pm, err := patternmatcher.New([]string{strings.TrimPrefix(p, "!")})
	if err != nil {
		return err
	}
	if _, err := pm.MatchesOrParentMatches("x"); err != nil {
		return err
	}
	return nil
}

// NewDockerIgnore builds a matcher from already-read patterns.
func NewDockerIgnore(name string, patterns []string) (*DockerIgnore, error) {
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := make([]int, len(patterns))
	for i := range lines {
		lines[i] = i + 1 // patterns given in code: one a line
	}
	di := &DockerIgnore{
		File:                 name,
		Patterns:             patterns,
		Lines:                lines,
		pm:                   pm,
		prefixOnlyExceptions: true,
		dirs:                 map[string]dirMatch{},
	}
	for _, p := range pm.Patterns() {
		if p.Exclusion() && strings.ContainsAny(withoutTrailingGlob(p), `*[]?^\`) {
			di.prefixOnlyExceptions = false
		}
	}
	for _, p := range patterns {
		s, err := patternmatcher.New([]string{strings.TrimPrefix(p, "!")})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		di.single = append(di.single, s)
	}
	// Compile every pattern now: a pattern that fails here would otherwise
	// fail in the middle of a walk.
	if _, _, err := pm.MatchesUsingParentResults("x", patternmatcher.MatchInfo{}); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return di, nil
}

func withoutTrailingGlob(p *patternmatcher.Pattern) string {
	s := p.String()
	s = strings.TrimSuffix(s, "/**")
	return strings.TrimSuffix(s, "/*")
}

// Excluded reports whether the slash-separated context-relative path rel
// (a directory when isDir) is left out of the build context.
func (d *DockerIgnore) Excluded(rel string, isDir bool) bool {
	if d == nil || len(d.Patterns) == 0 {
		return false
	}
	rel = cleanRel(rel)
	if rel == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	parent, ok := d.parentLocked(rel)
	if !ok {
		return true
	}
	m, _ := d.matchLocked(rel, isDir, parent) // every pattern compiled when the file was read
	return m.excluded
}

// SkipDir reports whether the directory rel and everything below it are out
// of the context, so that a walker or watcher need not enter it at all.
func (d *DockerIgnore) SkipDir(rel string) bool {
	if d == nil || len(d.Patterns) == 0 {
		return false
	}
	rel = cleanRel(rel)
	if rel == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	parent, ok := d.parentLocked(rel)
	if !ok {
		return true
	}
	m, _ := d.matchLocked(rel, true, parent) // every pattern compiled when the file was read
	return m.pruned
}

// parentLocked returns the match state of rel's parent directory, and false
// when an ancestor was pruned (so rel is out whatever its own match).
func (d *DockerIgnore) parentLocked(rel string) (patternmatcher.MatchInfo, bool) {
	dir := path.Dir(rel)
	if dir == "." {
		return patternmatcher.MatchInfo{}, true
	}
	if m, ok := d.dirs[dir]; ok {
		return m.info, !m.pruned
	}
	info, ok := d.parentLocked(dir)
	if !ok {
		d.dirs[dir] = dirMatch{excluded: true, pruned: true}
		return patternmatcher.MatchInfo{}, false
	}
	m, _ := d.matchLocked(dir, true, info) // every pattern compiled when the file was read
	return m.info, !m.pruned
}

func (d *DockerIgnore) matchLocked(rel string, isDir bool, parent patternmatcher.MatchInfo) (dirMatch, error) {
	if isDir {
		if m, ok := d.dirs[rel]; ok {
			return m, nil
		}
	}
	excluded, info, err := d.pm.MatchesUsingParentResults(rel, parent)
	if err != nil {
		// Patterns were compiled in NewDockerIgnore; an error here means a
		// path the matcher cannot handle. Keep it in the context: syncing a
		// file too many is recoverable, missing one is not.
		return dirMatch{}, err
	}
	m := dirMatch{info: info, excluded: excluded}
	if isDir {
		m.pruned = excluded && d.prunes(rel)
		if len(d.dirs) > 100000 {
			clear(d.dirs) // bound the cache on huge trees; it is only a cache
		}
		d.dirs[rel] = m
	}
	return m, nil
}

// prunes mirrors fsutil: an excluded directory is not entered when exceptions
// are all plain paths and none of them points inside it.
func (d *DockerIgnore) prunes(dir string) bool {
	if !d.prefixOnlyExceptions {
		return false
	}
	if !d.pm.Exclusions() {
		return true
	}
	dirSlash := dir + "/"
	for _, p := range d.pm.Patterns() {
		if p.Exclusion() && strings.HasPrefix(withoutTrailingGlob(p)+"/", dirSlash) {
			return false
		}
	}
	return true
}

// Why returns the index into Patterns of the pattern that decided rel's fate
// (the last pattern matching rel or a parent whose sense agrees with the
// outcome), or -1 when no pattern matches.
func (d *DockerIgnore) Why(rel string, isDir bool) int {
	if d == nil || len(d.Patterns) == 0 {
		return -1
	}
	rel = cleanRel(rel)
	excluded := d.Excluded(rel, isDir)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.Patterns) - 1; i >= 0; i-- {
		exception := strings.HasPrefix(d.Patterns[i], "!")
		if exception == excluded {
			continue
		}
		if m, err := d.single[i].MatchesOrParentMatches(rel); err == nil && m {
			return i
		}
	}
	return -1
}

// cleanRel turns a user- or event-supplied relative path into the form the
// matcher expects: slash-separated, no "./", no trailing slash.
func cleanRel(rel string) string {
	rel = path.Clean(filepath.ToSlash(rel))
	rel = strings.TrimPrefix(rel, "/")
	if rel == "." {
		return ""
	}
	return rel
}

// ErrOutsideContext is returned for a path that is not below the context.
var ErrOutsideContext = errors.New("path is outside the build context")
