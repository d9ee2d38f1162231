package model

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Ledger holds, per container path, the SHA-256 of the content host and
// container last agreed on: updated by every completed sync in either
// direction, seeded from a build only for a container made from that
// build. A path whose content on one side differs from it changed on that
// side; on both sides, it is a conflict. One container's ledger is kept
// across runs of tfdev (SaveLedger), so that a reattach knows what changed
// while tfdev was away. Safe for concurrent use; a nil Ledger holds
// nothing.
//
// After a conflict both versions are kept and the ledger holds both
// (SetConflict): a later save on either side (content the other side does
// not hold yet, while that side still holds its own) then goes over as
// usual, and resolves the conflict.
type Ledger struct {
	mu sync.Mutex
	m  map[string]string
	// seeded is when a container made from the build that seeded the
	// ledger was created (zero: not seeded so, or not known).
	seeded time.Time
}

// SeededAt says that the ledger was seeded from the build of the image a
// container was created from at t: a file at a synced path that nobody
// has written since t holds the content recorded for it (the image's: a
// synced path is written by a trailing COPY, which no RUN follows).
func (l *Ledger) SeededAt(t time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seeded = t
}

// Seeded is when the container the ledger was seeded for was created.
func (l *Ledger) Seeded() time.Time {
	if l == nil {
		return time.Time{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seeded
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{m: map[string]string{}} }

// LedgerOf is a ledger holding m (as Snapshot returned it).
func LedgerOf(m map[string]string) *Ledger {
	l := NewLedger()
	for k, v := range m {
		l.m[k] = v
	}
	return l
}

// conflictSep joins the two sides' hashes of an unresolved conflict.
const conflictSep = "|"

// Set records sum as the content both sides agree on at p ("" forgets p).
func (l *Ledger) Set(p, sum string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sum == "" {
		delete(l.m, p)
		return
	}
	l.m[p] = sum
}

// SetConflict records that the host holds host and the container holds
// container at p, both kept.
func (l *Ledger) SetConflict(p, host, container string) {
	if host == "" || host == container {
		l.Set(p, container)
		return
	}
	l.Set(p, host+conflictSep+container)
}

// Agrees reports whether sum is content the two sides agreed on at p: the
// one agreed content, or either side's of an unresolved conflict.
func (l *Ledger) Agrees(p, sum string) bool {
	v, ok := l.Get(p)
	if !ok || sum == "" {
		return false
	}
	for _, s := range strings.Split(v, conflictSep) {
		if s == sum {
			return true
		}
	}
	return false
}

// Agreed is the one content both sides agree on at p; ok is false when
// there is none, or a conflict is unresolved there.
func (l *Ledger) Agreed(p string) (string, bool) {
	v, ok := l.Get(p)
	if !ok || strings.Contains(v, conflictSep) {
		return "", false
	}
	return v, true
}

// Conflicted lists the paths whose conflict is unresolved, sorted.
func (l *Ledger) Conflicted() []string {
	var out []string
	for p, v := range l.Snapshot() {
		if strings.Contains(v, conflictSep) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Get returns what the ledger holds at container path p: the agreed hash,
// or both sides' joined by "|" when a conflict is unresolved.
func (l *Ledger) Get(p string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.m[p]
	return s, ok
}

// Snapshot is a copy of what the ledger holds, path by path.
func (l *Ledger) Snapshot() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.m))
	for k, v := range l.m {
		out[k] = v
	}
	return out
}

// Sides lists the contents the two sides agreed on at p: the one agreed
// content, or both sides' of an unresolved conflict (nil when none).
func (l *Ledger) Sides(p string) []string {
	v, ok := l.Get(p)
	if !ok || v == "" {
		return nil
	}
	return strings.Split(v, conflictSep)
}
