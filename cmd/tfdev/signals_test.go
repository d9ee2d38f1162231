package main

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestStopPolicy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name string
		sigs []os.Signal
		at   []time.Time
		want []signalAction
	}{
		{"two SIGTERMs (timeout(1) and the process group)", []os.Signal{syscall.SIGTERM, syscall.SIGTERM}, []time.Time{ms(0), ms(1)}, []signalAction{sigStop, sigIgnore}},
		{"SIGTERM much later", []os.Signal{syscall.SIGTERM, syscall.SIGTERM}, []time.Time{ms(0), ms(5000)}, []signalAction{sigStop, sigIgnore}},
		{"SIGTERM after a Ctrl-C", []os.Signal{os.Interrupt, syscall.SIGTERM}, []time.Time{ms(0), ms(900)}, []signalAction{sigStop, sigIgnore}},
		{"a Ctrl-C seen twice at once", []os.Signal{os.Interrupt, os.Interrupt}, []time.Time{ms(0), ms(30)}, []signalAction{sigStop, sigIgnore}},
		{"a second Ctrl-C", []os.Signal{os.Interrupt, os.Interrupt}, []time.Time{ms(0), ms(500)}, []signalAction{sigStop, sigQuit}},
		{"Ctrl-C twice after a SIGTERM", []os.Signal{syscall.SIGTERM, os.Interrupt, os.Interrupt}, []time.Time{ms(0), ms(100), ms(700)}, []signalAction{sigStop, sigIgnore, sigQuit}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &stopPolicy{forceWait: forceAfter}
			for i, sig := range c.sigs {
				if got := p.on(sig, c.at[i]); got != c.want[i] {
					t.Errorf("signal %d (%v): %v, want %v", i, sig, got, c.want[i])
				}
			}
		})
	}
}
