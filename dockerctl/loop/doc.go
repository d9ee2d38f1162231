// Package loop is tfdev's dev loop as a pure reducer: Reduce takes the
// loop's State and one Input (something that happened: a batch of changes,
// a build that ended, a container that died, the Engine lost) and returns
// the new State and the Effects to carry out (a sync, a build, a
// replacement, an event to show). It does no I/O, reads no clock and never
// imports Docker (imports_test.go checks it), so every decision is
// table-tested. Inputs are named in the past tense (Built, Synced, Died),
// effects in the imperative (Build, Sync, Replace).
//
//	s := loop.NewState(loop.Config{Door: "http://127.0.0.1:8888"}, project)
//	s, effects := loop.Reduce(s, loop.Batch{Batch: b})
package loop
