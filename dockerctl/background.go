package dockerctl

import (
	"fmt"
	"sort"
	"sync"
)

// background is the work that runs beside the loop: builds, comparisons
// with the container, waits for Jupyter, live installs, replacements, the
// wait for the Engine, and the watches and probes of running containers.
// Each task is named for what it is, so what runs can be listed, and the
// session waits for every one before it ends: none outlives it.
type background struct {
	mu      sync.Mutex
	running map[string]int
	wg      sync.WaitGroup
}

// Go runs fn beside the loop as the task name.
func (b *background) Go(name string, fn func()) {
	b.mu.Lock()
	if b.running == nil {
		b.running = map[string]int{}
	}
	b.running[name]++
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer b.end(name)
		fn()
	}()
}

func (b *background) end(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running[name]--; b.running[name] == 0 {
		delete(b.running, name)
	}
}

// Running lists the tasks under way, sorted, with a count where a name
// runs more than once ("watch the container ×2").
func (b *background) Running() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.running))
	for name, n := range b.running {
		if n > 1 {
			name = fmt.Sprintf("%s ×%d", name, n)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Wait waits for every task.
func (b *background) Wait() { b.wg.Wait() }
