package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

// requestNames are what a line on standard input may ask of a session
// without a terminal UI: the TUI's r, s and R keys.
var requestNames = map[string]event.Request{
	"rebuild": event.RequestRebuild,
	"resync":  event.RequestResync,
	"replace": event.RequestReplace,
}

// readRequests reads requests from r, one per line, as JSON
// ({"request": "replace"}) or as the bare word, until r ends or ctx does.
// A line it does not understand is answered through say.
func readRequests(ctx context.Context, r io.Reader, out chan<- event.Request, say func(string)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		name := line
		if strings.HasPrefix(line, "{") {
			var req struct {
				Request string `json:"request"`
			}
			if err := json.Unmarshal([]byte(line), &req); err != nil {
				say(fmt.Sprintf("not a request: %q (%v)", line, err))
				continue
			}
			name = req.Request
		}
		req, ok := requestNames[name]
		if !ok {
			say(fmt.Sprintf("unknown request %q: rebuild, resync or replace", name))
			continue
		}
		select {
		case out <- req:
		case <-ctx.Done():
			return
		}
	}
}
