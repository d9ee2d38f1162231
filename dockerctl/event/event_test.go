package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPlainLines(t *testing.T) {
	code := 137
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: BuildStart, Reason: "requirements.txt changed"}, "tfdev: build started (requirements.txt changed)"},
		{Event{Kind: BuildStep, Index: 4, Total: 6, Instruction: "RUN pip install -r requirements.txt", State: "cached"}, "tfdev: step 4/6 RUN pip install -r requirements.txt ... cached"},
		{Event{Kind: BuildStep, Index: 6, Total: 6, Instruction: "COPY . /app", State: "done", Duration: 250 * time.Millisecond}, "tfdev: step 6/6 COPY . /app ... done (0.2s)"},
		{Event{Kind: BuildDone, Duration: 3200 * time.Millisecond, Image: "sha256:0123456789abcdef", Builder: "buildkit"}, "tfdev: build done in 3.2s (0123456789ab, buildkit)"},
		{Event{Kind: BuildDone, Duration: 3200 * time.Millisecond, Image: "sha256:0123456789abcdef", Builder: "buildkit", Context: "session", Files: 1, Bytes: 9}, "tfdev: build done in 3.2s (0123456789ab, buildkit; context by session: 1 file, 9 B sent)"},
		{Event{Kind: Ready, URL: "http://127.0.0.1:8888/?token=ab"}, "tfdev: ready http://127.0.0.1:8888/?token=ab"},
		{Event{Kind: Sync, Files: 2, Bytes: 4100, Duration: 14 * time.Millisecond}, "tfdev: synced 2 files (4.1 KB) in 14ms"},
		{Event{Kind: Sync, Files: 1, Bytes: 12, Duration: 3 * time.Millisecond, Removed: 1}, "tfdev: synced 1 file (12 B) in 3ms, removed 1"},
		{Event{Kind: Sync, Files: 5, Bytes: 100, Duration: 2 * time.Millisecond, Paths: []string{"a.py", "b.py", "c.py", "d.py", "e.py"}}, "tfdev: synced 5 files (100 B) in 2ms: a.py, b.py, c.py +2"},
		{Event{Kind: Rescue, From: "/tf/notebooks/a.ipynb", To: "notebooks/a.ipynb"}, "tfdev: rescued /tf/notebooks/a.ipynb -> notebooks/a.ipynb"},
		{Event{Kind: BuildFailed, File: "Dockerfile", Line: 7, Message: "RUN pip install -r requirements.txt: exit code 1", Log: []string{"ERROR: no match"}},
			"Dockerfile:7:1: error: RUN pip install -r requirements.txt: exit code 1\ntfdev:   | ERROR: no match"},
		{Event{Kind: ContainerEnd, Container: "tfdev-demo-1", Code: &code}, "tfdev: container tfdev-demo-1 exited with code 137"},
		{Event{Kind: Error, Message: "boom"}, "tfdev: error: boom"},
	} {
		if got := c.e.Plain(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.e.Kind, got, c.want)
		}
		if !strings.HasPrefix(c.e.Plain(), "tfdev: ") && c.e.Kind != BuildFailed {
			t.Errorf("%s: no tfdev: prefix", c.e.Kind)
		}
	}
}

// The JSON lines keep their field names: "seconds" for durations, "ms" for
// a sync, "time" always; and they read back into the same event.
func TestJSONDurations(t *testing.T) {
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		e    Event
		want []string
	}{
		{Event{Time: at, Kind: BuildDone, Duration: 1500 * time.Millisecond, Image: "sha256:ab"}, []string{`"seconds":1.5`, `"time":"2026-11-28T12:00:00Z"`, `"event":"build.done"`}},
		{Event{Time: at, Kind: Sync, Files: 1, Duration: 2500 * time.Microsecond}, []string{`"ms":2.5`, `"seconds":0.0025`, `"files":1`}},
		{Event{Time: at, Kind: BuildStep, State: StepCached}, []string{`"state":"cached"`}},
	} {
		b, err := json.Marshal(c.e)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: %s lacks %s", c.e.Kind, b, w)
			}
		}
		var back Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Duration != c.e.Duration || back.Kind != c.e.Kind || !back.Time.Equal(c.e.Time) {
			t.Errorf("%s: read back as %+v", c.e.Kind, back)
		}
	}
	if b, _ := json.Marshal(Event{Time: at, Kind: Info}); strings.Contains(string(b), "seconds") {
		t.Errorf("a zero duration is written: %s", b)
	}
}

func TestStampedGivesEveryEventATime(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var got []Event
	emit := Stamped(func(e Event) { got = append(got, e) }, func() time.Time { return at })
	emit(Event{Kind: Info})
	given := at.Add(-time.Hour)
	emit(Event{Kind: Info, Time: given})
	if !got[0].Time.Equal(at) || !got[1].Time.Equal(given) {
		t.Fatalf("times: %v, %v", got[0].Time, got[1].Time)
	}
}
