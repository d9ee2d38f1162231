package watcher

import (
	"sort"
	"time"
)

// Defaults for coalescing events into batches. Compose Watch waits 500 ms
// with no ceiling and Tilt 200 ms with a 10 s ceiling; a save is usually one
// burst of events well under 30 ms.
const (
	DefaultQuiet   = 30 * time.Millisecond // flush after this long without an event
	DefaultCeiling = time.Second           // never hold an event longer than this
)

// A burst (a branch switch, an unpacked archive) comes with short pauses
// as the writer works through folders: once a batch holds burstChanges
// changes, it waits for burstQuiet of quiet, so that the burst goes in one
// upload rather than in pieces that each pay the container's unpacking
// and its guard. The ceiling still bounds it.
const (
	burstChanges = 100
	burstQuiet   = 100 * time.Millisecond
)

// coalescer gathers changes until the tree has been quiet for `quiet`, or
// the oldest pending change is `ceiling` old, whichever comes first. It is
// pure: every call is given the time, so tests drive it with a fake clock.
type coalescer struct {
	quiet, ceiling time.Duration
	pending        map[string]Change
	rescan         []string // reasons for a rescan request
	first, last    time.Time
}

func newCoalescer(quiet, ceiling time.Duration) *coalescer {
	if quiet <= 0 {
		quiet = DefaultQuiet
	}
	if ceiling < quiet {
		ceiling = quiet
	}
	return &coalescer{quiet: quiet, ceiling: ceiling, pending: map[string]Change{}}
}

func (c *coalescer) touch(now time.Time) {
	if c.empty() {
		c.first = now
	}
	c.last = now
}

// add records a change. The last event for a path wins: the syncer reads the
// path's final state anyway, so a write-temp-then-rename is one change.
func (c *coalescer) add(ch Change, now time.Time) {
	c.touch(now)
	if old, ok := c.pending[ch.Path]; ok && ch.Op == ModeChanged && old.Op == Changed {
		return // a write and a chmod: still a write
	}
	c.pending[ch.Path] = ch
}

// requestRescan asks for a full reconcile in the next batch.
func (c *coalescer) requestRescan(reason string, now time.Time) {
	c.touch(now)
	c.rescan = append(c.rescan, reason)
}

func (c *coalescer) empty() bool { return len(c.pending) == 0 && len(c.rescan) == 0 }

// deadline is when the pending batch is due; zero when nothing is pending.
func (c *coalescer) deadline() time.Time {
	if c.empty() {
		return time.Time{}
	}
	quiet := c.quiet
	if len(c.pending) >= burstChanges {
		quiet = max(quiet, burstQuiet)
	}
	d := c.last.Add(quiet)
	if ceil := c.first.Add(c.ceiling); ceil.Before(d) {
		d = ceil
	}
	return d
}

// due reports whether the batch should leave now.
func (c *coalescer) due(now time.Time) bool {
	return !c.empty() && !now.Before(c.deadline())
}

// flush returns the pending batch, sorted by path, and starts a new one.
func (c *coalescer) flush() Batch {
	b := Batch{Changes: make([]Change, 0, len(c.pending)), Rescan: c.rescan, Since: c.first}
	for _, ch := range c.pending {
		b.Changes = append(b.Changes, ch)
	}
	sort.Slice(b.Changes, func(i, j int) bool { return b.Changes[i].Path < b.Changes[j].Path })
	c.pending = map[string]Change{}
	c.rescan = nil
	return b
}
