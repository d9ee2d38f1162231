package engine

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tfdev-dev/tfdev/dockerctl/enginetest"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
	"github.com/tfdev-dev/tfdev/dockerctl/testimage"
)

// bigContext is a project whose context holds a 200 MB file it does not
// ignore (weights, sample data), as the seed article's projects often do.
func bigContext(t testing.TB, dockerfileText string) (string, *dockerfile.Project) {
	return enginetest.BigContext(t, dockerfileText)
}

// A BuildKit session sends the context once; after a one-file change the
// next build sends that file only, where the tar sends all 200 MB again.
// What BuildKit's own filter kept is what `tfdev context` lists.
func TestSessionSendsOnlyWhatChanged(t *testing.T) {
	requireEngine(t)
	dir, p := bigContext(t, "FROM "+testimage.Busybox+"\nWORKDIR /app\nCOPY . /app\n")
	ref := "tfdev-test/session:" + nonce(t)
	removeImageOnCleanup(t, ref)
	build := func(via string) *model.BuildResult {
		t.Helper()
		res, err := testEngine.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit, Context: via})
		if err != nil {
			t.Fatal(err)
		}
		removeImageOnCleanup(t, res.ImageID)
		if res.ContextVia != via {
			t.Fatalf("the context went as %q, want %q", res.ContextVia, via)
		}
		return res
	}
	first := build(ContextViaSession)
	if first.ContextBytes < 200<<20 {
		t.Errorf("the first session build sent %d bytes, want the whole context", first.ContextBytes)
	}
	want := []string{".dockerignore", "Dockerfile", "requirements.txt", "train.py", "weights.bin"}
	if !slices.Equal(first.Context, want) {
		t.Errorf("BuildKit's filter kept %q; tfdev context lists %q", first.Context, want)
	}

	writeFile(t, dir, "train.py", "print(2)\n")
	second := build(ContextViaSession)
	if !slices.Equal(second.ContextSent, []string{"train.py"}) || second.ContextBytes != int64(len("print(2)\n")) {
		t.Errorf("after a one-file change the session sent %q (%d bytes), want train.py only", second.ContextSent, second.ContextBytes)
	}
	sum, _ := FileSHA256(filepath.Join(dir, "weights.bin"))
	if second.ContextSums["weights.bin"] != sum || second.ContextSums["train.py"] != sha("print(2)\n") {
		t.Errorf("the sums of the session build: %v", second.ContextSums)
	}
	if got := containerFileOf(t, ref, "/app/train.py"); got != "print(2)\n" {
		t.Errorf("the image has train.py %q", got)
	}

	writeFile(t, dir, "train.py", "print(3)\n")
	tarred := build(ContextViaTar)
	if tarred.ContextBytes < 200<<20 {
		t.Errorf("the tar sent %d bytes, want the whole context", tarred.ContextBytes)
	}
}

// containerFileOf reads one file of an image (a created container's copy).
func containerFileOf(t testing.TB, ref, p string) string {
	t.Helper()
	ctx := context.Background()
	c, err := testEngine.api.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"none"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer testEngine.api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	rc, _, err := testEngine.api.CopyFromContainer(ctx, c.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// refusingProxy stands between the client and the real Engine and answers
// 404 to /session, as an Engine that takes no build session does.
func refusingProxy(t testing.TB) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go proxyRefusingSession(c)
		}
	}()
	return "unix://" + sock
}

func proxyRefusingSession(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if strings.HasSuffix(req.URL.Path, "/session") {
		io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n\r\n404 page not found\n")
		return
	}
	up, err := net.Dial("unix", "/var/run/docker.sock")
	if err != nil {
		return
	}
	defer up.Close()
	if err := req.Write(up); err != nil {
		return
	}
	go io.Copy(up, br) // later requests on a kept-alive connection pass as they are
	io.Copy(c, up)
}

// An Engine that refuses the session still builds: the context goes as a
// tar. Asked for a session only, the refusal is the error.
func TestSessionRefusedFallsBackToTar(t *testing.T) {
	requireEngine(t)
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_HOST", refusingProxy(t))
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Busybox+"\nCOPY train.py /app/\n")
	writeFile(t, dir, "train.py", "print(1)\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := "tfdev-test/refused:" + nonce(t)
	removeImageOnCleanup(t, ref)
	res, err := e.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContextVia != ContextViaTar || res.Builder != model.BuilderBuildKit {
		t.Errorf("built with %s, the context as %s; want BuildKit from a tar", res.Builder, res.ContextVia)
	}
	_, err = e.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit, Context: ContextViaSession})
	if err == nil || !strings.Contains(err.Error(), "refused a build session") {
		t.Errorf("a session-only build on an Engine without sessions: %v", err)
	}
}

// BenchmarkRebuild200MB: a rebuild after a one-file change in a project
// whose context holds a 200 MB file, the context as a tar against a
// session, on the local socket and over ssh (sub-benchmarks local-tar,
// local-session, ssh-tar, ssh-session).
func BenchmarkRebuild200MB(b *testing.B) {
	requireEngine(b)
	engines := []struct {
		name string
		eng  func() *Engine
	}{{"local", func() *Engine { return testEngine }}, {"ssh", func() *Engine { return sshEngine(b) }}}
	for _, e := range engines {
		for _, via := range []string{ContextViaTar, ContextViaSession} {
			b.Run(e.name+"-"+via, func(b *testing.B) {
				eng := e.eng()
				dir, p := bigContext(b, "FROM "+testimage.Busybox+"\nWORKDIR /app\nCOPY train.py /app/\n")
				ref := "tfdev-test/rebuild200:" + nonce(b)
				removeImageOnCleanup(b, ref)
				build := func(i int) *model.BuildResult {
					writeFile(b, dir, "train.py", fmt.Sprintf("print(%d)\n", i))
					res, err := eng.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit, Context: via})
					if err != nil {
						b.Fatal(err)
					}
					removeImageOnCleanup(b, res.ImageID)
					return res
				}
				build(-1) // the first build sends everything either way
				var sent int64
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sent += build(i).ContextBytes
				}
				b.ReportMetric(float64(sent)/float64(b.N), "bytes-sent/op")
			})
		}
	}
}

// The session's sums stay right across builds, and its cache holds one
// entry per context file, not one per version of it.
func TestSessionSumsAcrossBuilds(t *testing.T) {
	requireEngine(t)
	dir := t.TempDir()
	writeFile(t, dir, "Dockerfile", "FROM "+testimage.Busybox+"\nCOPY . /app\n")
	p, err := dockerfile.Load(dir, "Dockerfile", dockerfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ref := "tfdev-test/sums:" + nonce(t)
	removeImageOnCleanup(t, ref)
	for i := 0; i < 3; i++ {
		body := strings.Repeat("x", i+1)
		writeFile(t, dir, "train.py", body)
		res, err := e.Build(context.Background(), model.BuildOptions{Project: p, Tags: []string{ref}, Builder: model.BuilderBuildKit, Context: ContextViaSession})
		if err != nil {
			t.Fatal(err)
		}
		removeImageOnCleanup(t, res.ImageID)
		if res.ContextSums["train.py"] != sha(body) || res.ContextSums["Dockerfile"] == "" {
			t.Errorf("build %d: sums %v", i, res.ContextSums)
		}
	}
	e.sums.mu.Lock()
	n := len(e.sums.m)
	e.sums.mu.Unlock()
	if n != 2 {
		t.Errorf("the cache holds %d entries for a 2-file context", n)
	}
}
