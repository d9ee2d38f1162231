package event

import (
	"testing"
	"time"
)

// The meter adds layers up, takes a layer's last figures, and estimates
// from the rate since its first event.
func TestPullMeter(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	ev := func(sec int, layer string, cur, total int64, done bool) Event {
		return Event{Kind: BuildPull, Time: t0.Add(time.Duration(sec) * time.Second), Layer: layer, Current: cur, Total: int(total), Done: done}
	}
	var m PullMeter
	if m.Summary() != "0 B of 0 B" || m.Done() {
		t.Errorf("empty: %q", m.Summary())
	}
	m.Add(ev(0, "a", 0, 100e6, false))
	m.Add(ev(0, "b", 0, 300e6, false))
	m.Add(ev(10, "a", 50e6, 100e6, false))
	m.Add(ev(10, "b", 150e6, 300e6, false))
	if cur, total := m.Totals(); cur != 200e6 || total != 400e6 {
		t.Errorf("totals %d of %d", cur, total)
	}
	if r := m.Rate(); r != 20e6 {
		t.Errorf("rate %f", r)
	}
	if got := m.Summary(); got != "200.0 MB of 400.0 MB (50%), 20.0 MB/s, about 10s left" {
		t.Errorf("summary %q", got)
	}
	m.Add(ev(12, "a", 0, 100e6, true)) // a layer said done, with no bytes: its total
	m.Add(ev(20, "b", 300e6, 300e6, true))
	if !m.Done() || m.Left() != 0 {
		t.Errorf("done %v, left %v", m.Done(), m.Left())
	}
}
