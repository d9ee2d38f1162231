// Package watcher decides what a change to a project's files means for its
// container: it knows the build context exactly as Docker sends it
// (.dockerignore with BuildKit's semantics), watches the context with
// fsnotify, coalesces events into batches and classifies each batch against
// rules derived from the Dockerfile.
//
//	di, _ := watcher.LoadDockerIgnore(dir, "Dockerfile")
//	files, _ := watcher.ListContext(ctx, dir, di) // what COPY . /app sees
//	plan := watcher.Classify(batch, rules)       // sync, rebuild or ignore
//
// It never talks to the Docker Engine.
package watcher
