package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The guard keeps Sync from overwriting or deleting what the user made in
// the container. Before a batch is written, the container's state at each
// destination is read (one round trip) and compared with the ledger, which
// holds what host and container last agreed on: a destination the
// container changed since is a conflict, and is left alone.

// dirState is what containerState reports for a directory.
const dirState = "dir"

// destState is the container's side of a batch's destinations.
type destState struct {
	content map[string]string // SHA-256 or dirState; a missing path is absent
	mode    map[string]string // permissions, in octal ("644")
}

// containerState reads, in one round trip, the content and permissions of
// each path in the container.
func (e *Engine) containerState(ctx context.Context, id string, paths []string) (destState, error) {
	if len(paths) == 0 {
		return destState{content: map[string]string{}, mode: map[string]string{}}, nil
	}
	var lines []string
	if a := e.AgentFor(ctx, id); a != nil {
		var err error
		if lines, err = a.roundTrip('h', nulList(paths)); err == nil {
			return parseState(lines), nil
		}
		e.dropAgent(id)
	}
	out, err := e.ExecOK(ctx, id, append([]string{"sh", "-c", stateScript, "sh"}, paths...)...)
	if err != nil {
		return destState{}, fmt.Errorf("reading the container's files before writing them: %w", err)
	}
	return parseState(strings.Split(string(out), "\n")), nil
}

func parseState(lines []string) destState {
	m := map[string]string{}
	st := destState{content: m, mode: map[string]string{}}
	var sums []string
	for _, l := range lines {
		if p, ok := strings.CutPrefix(l, dirState+"  "); ok {
			m[p] = dirState
			continue
		}
		if rest, ok := strings.CutPrefix(l, "mode "); ok {
			if mode, p, ok := strings.Cut(rest, " "); ok {
				st.mode[p] = mode
			}
			continue
		}
		sums = append(sums, l)
	}
	for p, sum := range parseSHA256Sum([]byte(strings.Join(sums, "\n"))) {
		if m[p] != dirState {
			m[p] = sum
		}
	}
	return st
}

// removeSafely removes paths the guard cleared: files, and directories
// only when empty. Deepest first, so a folder's files go before it.
func (e *Engine) removeSafely(ctx context.Context, id string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	sorted := deepestFirst(paths)
	if a := e.AgentFor(ctx, id); a != nil {
		if _, err := a.roundTrip('r', nulList(sorted)); err == nil {
			return nil
		}
		e.dropAgent(id)
	}
	if _, err := e.ExecOK(ctx, id, append([]string{"sh", "-c", removeScript, "sh"}, sorted...)...); err != nil {
		return fmt.Errorf("removing %d paths in the container: %w", len(sorted), err)
	}
	return nil
}

// deepestFirst sorts paths so that what is inside a folder comes before it.
func deepestFirst(paths []string) []string {
	sorted := append([]string(nil), paths...)
	sort.Sort(sort.Reverse(sort.StringSlice(sorted)))
	return sorted
}

func nulList(paths []string) []byte {
	if len(paths) == 0 {
		return nil
	}
	return []byte(strings.Join(paths, "\x00") + "\x00")
}

// guardVerdict is what the guard says of one destination.
type guardVerdict int

const (
	guardWrite    guardVerdict = iota // the container holds what was agreed (or nothing): write
	guardSame                         // the container already holds the new content: nothing to send
	guardConflict                     // the container changed it since: leave it, keep both
)

// guardOne decides for a write of content newSum ("" when not hashed) at
// a destination whose container state is got ("" when missing) and whose
// agreed content is agreed (ok false when none).
func guardOne(got, newSum, agreed string, ok bool) guardVerdict {
	switch {
	case got == "":
		return guardWrite // missing in the container: nothing there to lose
	case got == dirState:
		return guardConflict // a folder the container made where a file goes
	case newSum != "" && got == newSum:
		return guardSame
	case ok && got == agreed:
		return guardWrite
	}
	return guardConflict
}
