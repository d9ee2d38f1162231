package main

import (
	"context"
	"strings"
	"testing"

	"github.com/tfdev-dev/tfdev/dockerctl/event"
)

func TestReadRequests(t *testing.T) {
	out := make(chan event.Request, 8)
	var said []string
	in := "replace\n{\"request\": \"rebuild\"}\n\nresync\n{\"request\": \"nap\"}\n{broken\n"
	readRequests(context.Background(), strings.NewReader(in), out, func(s string) { said = append(said, s) })
	close(out)
	var got []event.Request
	for r := range out {
		got = append(got, r)
	}
	if len(got) != 3 || got[0] != event.RequestReplace || got[1] != event.RequestRebuild || got[2] != event.RequestResync {
		t.Errorf("requests %v", got)
	}
	if len(said) != 2 || !strings.Contains(said[0], `unknown request "nap"`) || !strings.Contains(said[1], "not a request") {
		t.Errorf("said %q", said)
	}
}
