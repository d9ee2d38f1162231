// Package dockerctl is everything tfdev says to the Docker Engine, through
// the Engine API (never the docker CLI): connecting, building with per-step
// progress, running and replacing the Jupyter container, live sync, exec,
// logs and events. It knows nothing of terminals.
//
//	eng, err := dockerctl.Connect(ctx)
//	res, err := eng.Build(ctx, dockerctl.BuildOptions{Dir: dir, Progress: fn})
//
// The Dockerfile model that says what to sync and what to rebuild lives in
// the pure sub-package dockerfile.
package dockerctl
