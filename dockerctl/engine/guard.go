package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/model"
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

// syncGuarded is a sync through an agent that guards as it writes (the g
// frame), in one round: each removal and each file goes with the contents
// the container may hold there to be replaced (what the ledger says both
// sides agreed on, either side of a conflict). The agent leaves a path
// holding anything else as it is, and its copy is then saved as a
// conflict, as the guard's own round would. When the round fails (done is
// false) the ledger is as it was, so that the caller can guard again and
// go another way.
func (e *Engine) syncGuarded(ctx context.Context, a *agent, id, hostDir string, sp syncPlan, owners *ownerCache, ledger *model.Ledger, res *model.SyncResult) (done bool, err error) {
	var head []byte
	removes := deepestFirst(sp.removes)
	for _, d := range removes {
		head = append(append(head, d...), 0)
		head = append(append(head, strings.Join(ledger.Sides(d), " ")...), 0)
	}
	prior := map[string]string{} // the ledger at each file, before the tar's writer records the new content
	pax := func(d string) map[string]string {
		prior[d], _ = ledger.Get(d)
		allow, sum := strings.Join(ledger.Sides(d), " "), sp.sums[d]
		if allow == "" {
			allow = "-"
		}
		if sum == "" {
			sum = "-" // not hashed (large): only the allowed contents are overwritten
		}
		return map[string]string{"TFDEV.allow": allow, "TFDEV.sum": sum}
	}
	var tw tarStats
	e.uploads.Add(1)
	lines, err := a.sendStream('g', head, func(w io.Writer) error {
		return writeSyncTar(ctx, w, hostDir, sp.writes, owners, ledger, &tw, pax)
	})
	if err != nil {
		for d, v := range prior {
			ledger.Set(d, v)
		}
		return false, err
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\n`, "\n")
	kept := map[string]bool{}
	var conflicts []string
	same := 0
	for _, l := range lines {
		if p, ok := strings.CutPrefix(l, "conflict "); ok {
			p = unescape.Replace(p)
			kept[p] = true
			conflicts = append(conflicts, p)
			if v, written := prior[p]; written {
				ledger.Set(p, v) // not written: the agreement stands until the conflict is saved
			}
		} else if strings.HasPrefix(l, "same ") {
			same++
		}
	}
	for _, d := range removes {
		if !kept[d] {
			ledger.Set(d, "")
			res.Removed++
		}
	}
	res.Files = tw.files - same - (len(conflicts) - (len(removes) - res.Removed))
	res.Bytes = tw.bytes
	res.Errors = append(res.Errors, tw.errs...)
	if len(conflicts) == 0 {
		return true, nil
	}
	sort.Strings(conflicts)
	saved, err := e.saveConflicts(ctx, id, hostDir, conflicts, sp.rels, ledger)
	res.Conflicts = append(res.Conflicts, saved...)
	return true, err
}
