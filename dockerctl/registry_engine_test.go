package dockerctl

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/engine"
	"github.com/tfdev-dev/tfdev/dockerctl/event"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
	"github.com/tfdev-dev/tfdev/dockerctl/testregistry"
	"github.com/tfdev-dev/tfdev/watcher"
)

// registryImage builds an image with a layer of its own (3 MB of random
// bytes), pushes it to the registry as repo:tag, and removes it from the
// Engine: a build FROM it must download that layer.
func registryImage(t *testing.T, reg *testregistry.Registry, repoTag string) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Busybox+"\nRUN head -c 3000000 /dev/urandom > /blob\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref(repoTag)
	res, err := testEngine.Build(ctx, model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit})
	if err != nil {
		t.Fatal(err)
	}
	if err := testEngine.Push(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := testEngine.API().ImageRemove(ctx, res.ImageID, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		t.Fatal(err)
	}
	pruneBuildCache(t)
	return ref
}

// pruneBuildCache empties BuildKit's cache, as docker builder prune -af:
// a fresh machine.
func pruneBuildCache(t *testing.T) {
	t.Helper()
	if _, err := testEngine.API().BuildCachePrune(context.Background(), build.CachePruneOptions{All: true}); err != nil {
		t.Fatal(err)
	}
}

// manifestLayers reads the registry's manifest of repo:tag over plain HTTP
// (no auth): layer digest -> size, and the manifest's and config's blobs.
func manifestLayers(t *testing.T, reg *testregistry.Registry, repo, tag string) (layers, others map[string]int64) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+reg.Addr+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type blob struct {
		Digest string
		Size   int64
	}
	var m struct {
		Config blob
		Layers []blob
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &m); err != nil || len(m.Layers) == 0 {
		t.Fatalf("manifest: %d %v", resp.StatusCode, err)
	}
	layers = map[string]int64{}
	for _, l := range m.Layers {
		layers[l.Digest] = l.Size
	}
	return layers, map[string]int64{m.Config.Digest: m.Config.Size, resp.Header.Get("Docker-Content-Digest"): int64(len(body))}
}

// A build whose base is only in a registry reports the download of each
// layer: its total is the layer's size in the registry's manifest, and its
// last figure is the whole of it. The registry's manifest, read by tfdev,
// gives the same sum.
func TestPullProgressFromARegistry(t *testing.T) {
	requireEngine(t)
	reg := testregistry.Start(t, testregistry.Options{})
	tag := nonce(t)
	ref := registryImage(t, reg, "tfdev/base:"+tag)
	layers, others := manifestLayers(t, reg, "tfdev/base", tag)

	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+ref+"\nCOPY train.py /app/\n")
	writeFile(t, dir, "train.py", "print(1)\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]model.PullProgress{}
	res, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{"tfdev-test/pulled:" + tag}, Builder: model.BuilderBuildKit,
		Pull: func(pp model.PullProgress) { last[pp.Layer] = pp }})
	if err != nil {
		t.Fatal(err)
	}
	removeImageOnCleanup(t, res.ImageID)
	t.Cleanup(func() { testEngine.API().ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })
	downloaded := 0
	for blob, pp := range last {
		want, layer := layers[blob]
		if !layer {
			want = others[blob] // the manifest and the config come down too
		}
		if want == 0 || pp.Total != want || pp.Current != pp.Total || pp.Step != 1 || !strings.HasPrefix(pp.Image, "FROM ") {
			t.Errorf("blob %s: %+v; the registry says %d", blob, pp, want)
		}
		if layer {
			downloaded++
		}
	}
	if downloaded == 0 {
		t.Errorf("no layer's download reported (%d blobs): the image's own layer is only in the registry", len(last))
	}
	// The legacy builder's pull: its progress details, by short layer ID.
	for _, id := range []string{res.ImageID, ref} {
		testEngine.API().ImageRemove(context.Background(), id, image.RemoveOptions{Force: true, PruneChildren: true})
	}
	pruneBuildCache(t)
	legacy := map[string]model.PullProgress{}
	res, err = testEngine.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{"tfdev-test/pulled:" + tag}, Builder: model.BuilderLegacy,
		Pull: func(pp model.PullProgress) { legacy[pp.Layer] = pp }})
	if err != nil {
		t.Fatal(err)
	}
	removeImageOnCleanup(t, res.ImageID)
	found := 0
	for short, pp := range legacy {
		for digest, size := range layers {
			if strings.HasPrefix(strings.TrimPrefix(digest, "sha256:"), short) {
				found++
				if !pp.Done || pp.Total != size || pp.Current != size || pp.Step != 1 {
					t.Errorf("legacy pull of %s: %+v; the manifest says %d", short, pp, size)
				}
			}
		}
	}
	if found == 0 {
		t.Errorf("the legacy builder's pull reported no layer of the manifest: %+v", legacy)
	}
	var sum int64
	for _, size := range layers {
		sum += size
	}
	if got, err := engine.RegistrySize(context.Background(), ref, "amd64"); err != nil || got != sum {
		t.Errorf("RegistrySize: %d (%v), the manifest's layers: %d", got, err, sum)
	}
}

// A Dockerfile that copies no source, on a base not yet on the Engine: the
// session pulls the base first, with its progress, to learn where its
// Jupyter serves, and the source gets that workspace.
func TestBaseFirstForTheWorkspace(t *testing.T) {
	requireEngine(t)
	ctx := context.Background()
	reg := testregistry.Start(t, testregistry.Options{})
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Busybox+"\nCMD [\"sh\", \"-c\", \"jupyter notebook --notebook-dir=/srv/nb --ip 0.0.0.0\"]\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Ref("tfdev/notebook-base:" + nonce(t))
	res, err := testEngine.Build(ctx, model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit})
	if err != nil {
		t.Fatal(err)
	}
	if err := testEngine.Push(ctx, ref, nil); err != nil {
		t.Fatal(err)
	}
	testEngine.API().ImageRemove(ctx, res.ImageID, image.RemoveOptions{Force: true})
	t.Cleanup(func() { testEngine.API().ImageRemove(ctx, ref, image.RemoveOptions{Force: true}) })

	project := t.TempDir()
	writeFile(t, project, "Dockerfile", "FROM "+ref+"\nCOPY requirements.txt /tmp/\nRUN true\n")
	writeFile(t, project, "requirements.txt", "numpy==1.24.2\n")
	var events []event.Event
	s := NewSession(testEngine, SessionOptions{Dir: project, Emit: func(e event.Event) { events = append(events, e) }})
	before, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Workspace != "" {
		t.Fatalf("a workspace before the base is here: %q", before.Workspace)
	}
	after, err := s.baseFirst(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	if after.Workspace != "/srv/nb" {
		t.Errorf("the workspace after the base came: %q, want /srv/nb", after.Workspace)
	}
	if d, ok := watcher.SyncDest("model.py", after.Rules); !ok || d != "/srv/nb/model.py" {
		t.Errorf("model.py syncs to %q (%v)", d, ok)
	}
	said := false
	for _, e := range events {
		said = said || e.Kind == event.Phase && strings.Contains(e.Message, "pulling "+ref+" first")
	}
	if !said {
		t.Errorf("no phase said the pull: %+v", events)
	}
}
