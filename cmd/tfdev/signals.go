package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// forceAfter is how long after a first Ctrl-C a second one means "quit at
// once": closer together, they are one press seen twice (a terminal and a
// process group both signalling, `timeout` sending two SIGTERMs).
const forceAfter = 500 * time.Millisecond

type signalAction int

const (
	sigStop   signalAction = iota // stop cleanly: rescue, stop the container
	sigIgnore                     // already stopping
	sigQuit                       // quit at once, leaving the container running
)

// stopPolicy decides what each signal means. Only a second Ctrl-C at least
// forceAfter after the first one forces; repeated SIGTERMs, or a SIGTERM
// after a Ctrl-C, never do.
type stopPolicy struct {
	stopping  bool
	firstInt  time.Time
	sawInt    bool
	forceWait time.Duration
}

func (p *stopPolicy) on(sig os.Signal, at time.Time) signalAction {
	defer func() {
		if sig == os.Interrupt && !p.sawInt {
			p.sawInt, p.firstInt = true, at
		}
	}()
	if !p.stopping {
		p.stopping = true
		return sigStop
	}
	if sig == os.Interrupt && p.sawInt && at.Sub(p.firstInt) >= p.forceWait {
		return sigQuit
	}
	return sigIgnore
}

// signalContext is cancelled by the first SIGINT or SIGTERM; what later
// ones do is stopPolicy's. say tells the user (a line on stderr, or an
// event in the output's own format).
func signalContext(parent context.Context, say func(string)) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	policy := &stopPolicy{forceWait: forceAfter}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				switch policy.on(sig, time.Now()) {
				case sigStop:
					say("stopping: bringing your files home, then stopping the container (Ctrl-C again to quit at once)")
					cancel()
				case sigIgnore:
					say("already stopping")
				case sigQuit:
					say("quitting at once: the project's container is left running with your files in it; the next tfdev up or tfdev down brings them home")
					os.Exit(130)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel() }
}

// sayOn writes what signalContext says as "tfdev: ..." lines on w.
func sayOn(w io.Writer) func(string) {
	return func(msg string) { _, _ = fmt.Fprintln(w, "tfdev: "+msg) }
}
