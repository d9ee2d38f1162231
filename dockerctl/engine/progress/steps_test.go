package progress

import (
	"strings"
	"testing"
	"time"

	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

func trackerFor(t *testing.T, df string, progress func(model.StepProgress)) *Tracker {
	t.Helper()
	m, err := dockerfile.Parse(strings.NewReader(df), dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return NewTracker(m, progress)
}

// The legacy builder numbers a step of its own after the Dockerfile's
// when the build has labels (--label: tfdev's project label): it is no
// step of the Dockerfile, and the ones before it end as they did.
func TestLegacyStreamWithTheLabelStep(t *testing.T) {
	final := map[int]model.StepState{}
	tr := trackerFor(t, "FROM base:1\nRUN make\n", func(p model.StepProgress) { final[p.Index] = p.State })
	for _, l := range []string{"Step 1/3 : FROM base:1\n", " ---> abc\n", "Step 2/3 : RUN make\n", " ---> Running in x\n", "ok\n",
		"Step 3/3 : LABEL dev.tfdev.project=123\n", " ---> Running in y\n", "Successfully built def\n"} {
		tr.Stream(l)
	}
	tr.Finish()
	if final[1] != model.StepCached || final[2] != model.StepDone || len(final) != 2 {
		t.Errorf("steps %v", final)
	}
}

// BuildKit's statuses under a FROM vertex are its downloads; others (the
// context's transfer, an extraction) are not.
func TestPullStatusesOfTheFromStep(t *testing.T) {
	tr := trackerFor(t, "FROM base:1\nCOPY . /app\n", nil)
	var got []model.PullProgress
	tr.Pull = func(p model.PullProgress) { got = append(got, p) }
	done := time.Now()
	tr.Trace(Status{
		Vertexes: []Vertex{{Digest: "v1", Name: "[1/2] FROM docker.io/library/base:1"}, {Digest: "v0", Name: "[internal] load build context"}},
		Statuses: []VertexStatus{
			{ID: "sha256:aa", Vertex: "v1", Current: 10, Total: 100},
			{ID: "sha256:aa", Vertex: "v1", Current: 100, Total: 100, Completed: done},
			{ID: "extracting sha256:aa", Vertex: "v1", Current: 0, Total: 0},
			{ID: "transferring context:", Vertex: "v0", Current: 40, Total: 0},
		},
	})
	if len(got) != 2 || got[0].Step != 1 || got[0].Current != 10 || got[1].Done != true || got[1].Total != 100 || got[0].Image != "FROM base:1" {
		t.Errorf("%+v", got)
	}
}
