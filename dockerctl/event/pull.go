package event

import (
	"fmt"
	"time"
)

// PullMeter adds up a base image's download from its build.pull events:
// bytes done and in all, the rate since the first, and an estimate of the
// time left. The TUI draws its bar from it; plain output prints its
// Summary every few seconds.
type PullMeter struct {
	layers       map[string][2]int64 // layer -> current, total
	done         map[string]bool
	first, last  time.Time
	firstCurrent int64
}

// Add takes one build.pull event.
func (m *PullMeter) Add(e Event) {
	if m.layers == nil {
		m.layers, m.done = map[string][2]int64{}, map[string]bool{}
	}
	cur := e.Current
	if e.Done {
		cur = int64(e.Total)
		m.done[e.Layer] = true
	}
	m.layers[e.Layer] = [2]int64{cur, int64(e.Total)}
	if m.first.IsZero() {
		m.first, m.firstCurrent = e.Time, cur
	}
	m.last = e.Time
}

// Totals are the bytes down and the bytes in all, over the layers seen.
func (m *PullMeter) Totals() (current, total int64) {
	for _, l := range m.layers {
		current += l[0]
		total += l[1]
	}
	return current, total
}

// Done says every layer seen is down.
func (m *PullMeter) Done() bool { return len(m.layers) > 0 && len(m.done) == len(m.layers) }

// Rate is bytes per second since the first event; 0 until a second event.
func (m *PullMeter) Rate() float64 {
	cur, _ := m.Totals()
	d := m.last.Sub(m.first).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(cur-m.firstCurrent) / d
}

// Left estimates the time to the end at the rate so far; 0 when unknown.
func (m *PullMeter) Left() time.Duration {
	cur, total := m.Totals()
	r := m.Rate()
	if r <= 0 || total <= cur {
		return 0
	}
	return time.Duration(float64(total-cur) / r * float64(time.Second))
}

// Summary is "1.2 GB of 2.3 GB (52%), 45.0 MB/s, about 25s left".
func (m *PullMeter) Summary() string {
	cur, total := m.Totals()
	s := fmt.Sprintf("%s of %s", HumanBytes(cur), HumanBytes(total))
	if total > 0 {
		s += fmt.Sprintf(" (%d%%)", cur*100/total)
	}
	if r := m.Rate(); r > 0 {
		s += fmt.Sprintf(", %s/s", HumanBytes(int64(r)))
	}
	if left := m.Left(); left > 0 {
		s += ", about " + left.Round(time.Second).String() + " left"
	}
	return s
}
