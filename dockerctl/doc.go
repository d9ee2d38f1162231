// Package dockerctl is everything tfdev says to the Docker Engine, through
// the Engine API (never the docker CLI): connecting, building with per-step
// progress, running and replacing the Jupyter container, live sync, exec,
// logs and events; and the session that drives them. It knows nothing of
// terminals.
//
//	eng, err := dockerctl.Connect(ctx)
//	res, err := eng.Build(ctx, dockerctl.BuildOptions{Project: p, Progress: fn})
//	err = dockerctl.NewSession(eng, dockerctl.SessionOptions{Dir: dir, Emit: print}).Run(ctx)
//
// The session is a pure reducer (reducer.go: state and input in, state and
// effects out) and an executor that carries the effects out over the small
// engine interface (executor.go, engineapi.go). Its events are the
// sub-package event's; the Dockerfile model that says what to sync and
// what to rebuild is the pure sub-package dockerfile.
package dockerctl
