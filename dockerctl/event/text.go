package event

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"
)

// prefix starts every plain line but a build error's.
const prefix = "tfdev: "

// Plain renders the event as one stable line (plus its log lines) for a
// log, a pipe or a VS Code task. Build errors take the form
// FILE:LINE:1: error: MESSAGE so that an editor's problem matcher links
// them.
func (e Event) Plain() string {
	var s string
	if e.Kind == BuildFailed {
		s = fmt.Sprintf("%s:%d:1: error: %s", e.file(), max(e.Line, 1), e.Message)
	} else {
		s = prefix + e.Text()
	}
	if e.Kind == BuildFailed || e.Kind == ContainerEnd {
		for _, l := range e.Log {
			s += "\n" + prefix + "  | " + l
		}
	}
	return s
}

// QuickPhaseEnd is how short a phase may be for plain output to leave its
// end out: the end of every phase is an event (JSON has it, and the TUI's
// phase line clears), but a line for one that took a moment is noise.
const QuickPhaseEnd = time.Second

// Quiet reports an event that plain output leaves out: the end of a quick
// phase that brought nothing home and did not fail.
func (e Event) Quiet() bool {
	return e.Kind == Phase && e.State == StepDone && e.Duration < QuickPhaseEnd && e.Files == 0 && e.Bytes == 0
}

// Text is the event in words, on one line, without the "tfdev: " prefix:
// what the plain output prints and the terminal UI's activity list shows.
func (e Event) Text() string {
	if f, ok := texts[e.Kind]; ok {
		return f(e)
	}
	return e.Message
}

// IsError says whether the event reports something that went wrong.
func (e Event) IsError() bool {
	switch e.Kind {
	case Error, BuildFailed, ContainerEnd, Unreachable, EngineLost, Down, KernelRestarted, ReloadFailed:
		return true
	case Rescue:
		return e.Conflict
	case Doctor:
		return e.Severity == "error"
	}
	return false
}

func (e Event) file() string {
	if e.File == "" {
		return "Dockerfile"
	}
	return e.File
}

var texts = map[Kind]func(Event) string{
	Doctor: func(e Event) string {
		return fmt.Sprintf("doctor: %s: %s: %s (tfdev doctor shows the fix)", location(e.File, e.Line), e.Severity, e.Message)
	},
	Plan:       func(e Event) string { return fmt.Sprintf("%s has %d steps", e.file(), len(e.Steps)) },
	Watch:      func(e Event) string { return "watching " + e.Message },
	BuildStart: func(e Event) string { return fmt.Sprintf("build started (%s)", e.Reason) },
	BuildStep: func(e Event) string {
		s := fmt.Sprintf("step %d/%d %s ... %s", e.Index, e.Total, e.Instruction, e.State)
		if e.Duration > 0 && e.State == StepDone {
			s += fmt.Sprintf(" (%.1fs)", e.Duration.Seconds())
		}
		return s
	},
	ReplayStep: func(e Event) string {
		s := fmt.Sprintf("live install: %s %s ... %s", location(e.file(), e.Line), e.Instruction, e.State)
		switch {
		case e.State == StepRunning && len(e.Log) > 0: // its output, as it comes
			s += ": " + e.Log[len(e.Log)-1]
		case e.Duration > 0 && e.State != StepRunning:
			s += fmt.Sprintf(" (%.1fs)", e.Duration.Seconds())
		}
		return s
	},
	ReplayDone: func(e Event) string { return "live install done: " + e.Message },
	Live: func(e Event) string {
		return fmt.Sprintf("%s: %s (press R, or tfdev up --replace-now, for a container of the new image)", e.Container, e.Message)
	},
	BuildPull: func(e Event) string {
		if e.Done {
			return fmt.Sprintf("pulled layer %s (%s)", ShortID(e.Layer), HumanBytes(int64(e.Total)))
		}
		return fmt.Sprintf("pulling layer %s: %s of %s", ShortID(e.Layer), HumanBytes(e.Current), HumanBytes(int64(e.Total)))
	},
	BuildDone: func(e Event) string {
		ctx := ""
		if e.Context != "" {
			ctx = fmt.Sprintf("; context by %s: %d %s, %s sent", e.Context, e.Files, Plural(e.Files, "file", "files"), HumanBytes(e.Bytes))
		}
		return fmt.Sprintf("build done in %.1fs (%s, %s%s)", e.Duration.Seconds(), ShortID(e.Image), e.Builder, ctx)
	},
	BuildFailed: func(e Event) string { return fmt.Sprintf("%s: %s", location(e.file(), e.Line), e.Message) },
	Stale: func(e Event) string {
		return fmt.Sprintf("rebuild needed from %s (%s)", e.Instruction, strings.Join(e.Paths, ", "))
	},
	Container: func(e Event) string { return fmt.Sprintf("container %s started (%s)", e.Container, e.Message) },
	ContainerEnd: func(e Event) string {
		code := -1
		if e.Code != nil {
			code = *e.Code
		}
		s := fmt.Sprintf("container %s exited with code %d", e.Container, code)
		if e.Message != "" {
			s += ": " + e.Message
		}
		return s
	},
	Jupyter:     func(Event) string { return "jupyter starting" },
	Ready:       func(e Event) string { return "ready " + e.URL },
	Unreachable: func(e Event) string { return "jupyter unreachable: " + e.Message },
	Down: func(e Event) string {
		return fmt.Sprintf("jupyter down: it stopped answering at %s (%s); tfdev keeps asking", e.Time.Format("15:04:05"), e.Message)
	},
	Sync: func(e Event) string {
		s := fmt.Sprintf("synced %d %s (%s) in %s", e.Files, Plural(e.Files, "file", "files"), HumanBytes(e.Bytes), humanDuration(e.Duration))
		if e.Removed > 0 {
			s += fmt.Sprintf(", removed %d", e.Removed)
		}
		if len(e.Paths) > 0 {
			s += ": " + shortList(e.Paths, 3)
		}
		if len(e.Modules) > 0 {
			s += "; kernels reload " + shortList(e.Modules, 4)
		}
		if len(e.Restart) > 0 {
			s += "; restart the kernels that imported " + strings.Join(e.Restart, ", ") + ": autoreload cannot apply that"
		}
		return s
	},
	Rescue: func(e Event) string {
		switch {
		case e.Conflict && e.File != "":
			return fmt.Sprintf("conflict: %s changed on the host and %s in the container; both kept: %s as it is, the container's copy at %s. Merge them into %s and save it; tfdev sends that",
				e.File, e.From, e.File, e.To, e.File)
		case e.Conflict:
			return fmt.Sprintf("conflict: %s changed in the container where the host has a folder or an unreadable file; the container's copy is at %s", e.From, e.To)
		case e.Reason == "kept":
			return fmt.Sprintf("kept %s -> %s (no project path maps to it; tfdev puts it back into every new container)", e.From, e.To)
		}
		return fmt.Sprintf("rescued %s -> %s", e.From, e.To)
	},
	Resolved: func(e Event) string {
		return fmt.Sprintf("conflict resolved: %s (%s)", cmp.Or(e.File, e.From), e.Reason)
	},
	RescueProgress: func(e Event) string {
		pct := 100
		if e.Size > 0 {
			pct = int(e.Bytes * 100 / e.Size)
		}
		return fmt.Sprintf("bringing %s home: %s of %s (%d%%)", e.From, HumanBytes(e.Bytes), HumanBytes(e.Size), pct)
	},
	Phase: func(e Event) string {
		if e.State == StepDone && e.Files > 0 {
			return fmt.Sprintf("%s: %d file(s), %s in %s", e.Message, e.Files, HumanBytes(e.Bytes), humanDuration(e.Duration))
		}
		if e.State == StepDone && e.Bytes > 0 {
			return fmt.Sprintf("%s: %s in %s", e.Message, HumanBytes(e.Bytes), humanDuration(e.Duration))
		}
		if e.State == StepDone {
			return fmt.Sprintf("%s: done in %s", e.Message, humanDuration(e.Duration))
		}
		if e.State == StepFailed {
			return fmt.Sprintf("%s: failed after %s: %s", e.Message, humanDuration(e.Duration), e.Reason)
		}
		return e.Message + " ..."
	},
	EngineLost: func(e Event) string { return fmt.Sprintf("engine lost at %s: %s; retrying", e.Engine, e.Message) },
	EngineBack: func(e Event) string { return fmt.Sprintf("engine back at %s: %s", e.Engine, e.Message) },
	Error:      func(e Event) string { return "error: " + e.Message },
	KernelCarried: func(e Event) string {
		s := fmt.Sprintf("kernel %s carried into the new container: %d %s (%s, %s, %s)", shortKernel(e.Kernel), len(e.Names),
			Plural(len(e.Names), "name", "names"), HumanBytes(e.Bytes), humanDuration(e.Duration), e.Pickler)
		if len(e.Left) == 0 {
			return s
		}
		names := make([]string, 0, len(e.Left))
		for n := range e.Left {
			names = append(names, n)
		}
		sort.Strings(names)
		for i, n := range names {
			names[i] = n + " (" + e.Left[n] + ")"
		}
		return s + fmt.Sprintf("; not carried %d: %s", len(names), strings.Join(names, "; "))
	},
	KernelReload: func(e Event) string {
		return fmt.Sprintf("kernel %s reloaded %s", shortKernel(e.Kernel), strings.Join(e.Modules, ", "))
	},
	ReloadFailed: func(e Event) string {
		if e.Module == "" {
			return fmt.Sprintf("kernel %s: %s; %s", shortKernel(e.Kernel), e.Message, e.Fix)
		}
		return fmt.Sprintf("kernel %s could not reload %s: %s; %s", shortKernel(e.Kernel), e.Module, e.Message, e.Fix)
	},
	KernelImports: func(e Event) string {
		if len(e.Modules) == 0 {
			return fmt.Sprintf("kernel %s %s", shortKernel(e.Kernel), e.Message)
		}
		return fmt.Sprintf("kernel %s imported %s: %s", shortKernel(e.Kernel), shortList(e.Modules, 6), e.Message)
	},
	KernelRestarted: func(e Event) string {
		return fmt.Sprintf("kernel %s: its variables were not carried: %s; %s", shortKernel(e.Kernel), e.Reason, e.Message)
	},
}

// shortKernel is a kernel ID as Jupyter's pages show it: its first 8.
func shortKernel(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// shortList names the first n paths and counts the rest.
func shortList(ps []string, n int) string {
	if len(ps) <= n {
		return strings.Join(ps, ", ")
	}
	return strings.Join(ps[:n], ", ") + fmt.Sprintf(" +%d", len(ps)-n)
}

func location(file string, line int) string {
	if line > 0 {
		return fmt.Sprintf("%s:%d", file, line)
	}
	return file
}

// ShortID is an image or container ID as people read it: 12 hex digits.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Plural is one when n is 1, else many.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// HumanBytes renders a size in decimal units: 4.1 KB.
func HumanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	default:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	}
}

func humanDuration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
