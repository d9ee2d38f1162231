// Package dockerctl wires tfdev's loop to the Engine: the Session (watcher
// in, events out) and the executor that carries out the loop's effects.
// What to do is decided in the pure sub-package loop; how the Engine does
// it is the sub-package engine; the executor reaches it through small role
// ports (ports.go), and runs each effect inline or beside the loop
// (executor.go, job). It knows nothing of terminals.
//
//	eng, err := engine.Connect(ctx)
//	s := dockerctl.NewSession(eng, dockerctl.SessionOptions{Dir: dir, Emit: print})
//	err = s.Run(ctx)
package dockerctl
