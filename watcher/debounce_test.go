package watcher

import (
	"testing"
	"time"
)

func TestCoalescerQuietWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := newCoalescer(30*time.Millisecond, time.Second)
	if c.due(t0) || !c.deadline().IsZero() {
		t.Fatal("empty coalescer is due")
	}
	c.add(Change{Path: "a.py"}, t0)
	c.add(Change{Path: "b.py"}, t0.Add(20*time.Millisecond))
	if c.due(t0.Add(49 * time.Millisecond)) {
		t.Error("due before 30ms of quiet after the last event")
	}
	if !c.due(t0.Add(50 * time.Millisecond)) {
		t.Error("not due after 30ms of quiet")
	}
	b := c.flush()
	if len(b.Changes) != 2 || b.Changes[0].Path != "a.py" || b.Changes[1].Path != "b.py" {
		t.Errorf("batch = %+v", b.Changes)
	}
	if !c.empty() {
		t.Error("not empty after flush")
	}
}

func TestCoalescerCeiling(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := newCoalescer(30*time.Millisecond, time.Second)
	// A writer that never pauses 30ms: an event every 10ms.
	now := t0
	for i := 0; i < 99; i++ {
		c.add(Change{Path: "log.txt"}, now)
		if c.due(now) {
			t.Fatalf("due at %v", now.Sub(t0))
		}
		now = now.Add(10 * time.Millisecond)
	}
	c.add(Change{Path: "log.txt"}, now) // t0+990ms
	if got := c.deadline().Sub(t0); got != time.Second {
		t.Errorf("deadline at %v, want the 1s ceiling", got)
	}
	if !c.due(t0.Add(time.Second)) {
		t.Error("not due at the ceiling")
	}
}

func TestCoalescerLastEventWins(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := newCoalescer(0, 0)
	c.add(Change{Path: "x.py", Op: Removed}, t0)
	c.add(Change{Path: "x.py", Op: Changed}, t0) // editor: rename over the target
	c.requestRescan("overflow", t0)
	b := c.flush()
	if len(b.Changes) != 1 || b.Changes[0].Op != Changed || len(b.Rescan) != 1 {
		t.Errorf("batch = %+v", b)
	}
	if c.quiet != DefaultQuiet || c.ceiling != DefaultQuiet {
		t.Errorf("defaults: quiet %v ceiling %v", c.quiet, c.ceiling)
	}
}

// A burst waits for a longer quiet: a pause of 60 ms inside a 300-file
// burst does not split it; a single save still leaves after 30 ms.
func TestCoalescerBurstWaitsLonger(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := newCoalescer(30*time.Millisecond, time.Second)
	now := t0
	for i := 0; i < 150; i++ {
		c.add(Change{Path: "burst/a" + string(rune('0'+i%10)) + "/" + time.Duration(i).String()}, now)
		now = now.Add(time.Millisecond)
	}
	if c.due(now.Add(60 * time.Millisecond)) {
		t.Error("a 150-change burst left after 60 ms of quiet")
	}
	if !c.due(now.Add(100 * time.Millisecond)) {
		t.Error("a burst still held after 100 ms of quiet")
	}
	c.flush()
	c.add(Change{Path: "train.py"}, now)
	if !c.due(now.Add(30 * time.Millisecond)) {
		t.Error("a single save held past 30 ms")
	}
}
