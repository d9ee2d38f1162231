package watcher

import "sort"

// reloadFor reloads the configuration when the batch touches a control
// file, then takes the lock only to swap the rules and the watches.
func (w *Watcher) reloadFor(b Batch) Batch {
	if w.reload != nil && w.touchesControl(b.Changes) {
		loaded, err := w.reload()
		if err != nil {
			b.ReloadErr = err
		} else {
			w.mu.Lock()
			w.rules = loaded.WatchRules()
			w.rewatch()
			w.mu.Unlock()
			b.Reloaded, b.Loaded = true, loaded
		}
	}
	b.Rules = w.rules
	return b
}

func (w *Watcher) touchesControl(cs []Change) bool {
	for _, c := range cs {
		if c.Path == TfdevIgnoreFile {
			return true
		}
		for _, a := range w.rules.Always {
			if c.Path == a {
				return true
			}
		}
	}
	return false
}

// mergeBatches joins a batch the consumer has not taken yet with a newer one.
func mergeBatches(old, nu Batch) Batch {
	byPath := map[string]Change{}
	for _, c := range old.Changes {
		byPath[c.Path] = c
	}
	for _, c := range nu.Changes {
		byPath[c.Path] = c
	}
	nu.Changes = nu.Changes[:0]
	for _, c := range byPath {
		nu.Changes = append(nu.Changes, c)
	}
	sort.Slice(nu.Changes, func(i, j int) bool { return nu.Changes[i].Path < nu.Changes[j].Path })
	nu.Rescan = append(old.Rescan, nu.Rescan...)
	if !nu.Reloaded && old.Reloaded {
		nu.Reloaded, nu.Loaded = true, old.Loaded
	}
	if nu.ReloadErr == nil && !nu.Reloaded {
		nu.ReloadErr = old.ReloadErr
	}
	nu.Since = old.Since
	return nu
}
