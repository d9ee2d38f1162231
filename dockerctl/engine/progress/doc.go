// Package progress reads what the Engine says while it works, into
// tfdev's own values: BuildKit's trace (protobuf in aux messages, read
// with protowire), the legacy builder's stream ("Step 3/7 : RUN ..."),
// and the per-layer messages of pulls and pushes. It does no I/O; the
// engine adapter feeds it messages.
//
//	t := progress.NewTracker(project.Model, onStep)
//	st, _ := progress.Decode(aux) // a "moby.buildkit.trace" message
//	t.Trace(st)
//	t.Finish()
package progress
