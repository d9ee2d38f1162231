// Package engine is tfdev's Docker Engine adapter, through the Engine API
// (never the docker CLI): connecting (DOCKER_HOST, docker contexts, ssh),
// building with per-step progress (a BuildKit session, a tar, the legacy
// builder), containers and their lifecycle, exec, the sync agent and the
// container watch (scripts/, run from /tmp/.tfdev in the container), files
// home and reconcile, pulls, pushes and registry logins. It decides
// nothing the loop decides; it answers the executor's ports.
//
//	eng, err := engine.Connect(ctx)
//	res, err := eng.Build(ctx, model.BuildOptions{Project: p, Progress: onStep})
//	c, err := eng.Create(ctx, model.RunOptions{Dir: p.Dir, Image: res.ImageID})
package engine
