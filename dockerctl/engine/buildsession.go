package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/filesync"
	"github.com/tfdev-dev/tfdev/dockerctl/dockerfile"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// How a build's context reaches the Engine.
const (
	// ContextViaTar: the whole context as one tar, the request's body.
	ContextViaTar = "tar"
	// ContextViaSession: a BuildKit session; BuildKit applies .dockerignore
	// and asks for the files that changed since the last build of the
	// project (its shared key), so a rebuild sends only those.
	ContextViaSession = "session"
)

// clientSession is the RemoteContext value that makes the Engine read the
// context through the build's session, as the docker CLI did.
const clientSession = "client-session"

// contextSession is a BuildKit session serving one build's context and
// Dockerfile, recording what BuildKit read.
type contextSession struct {
	dir  string // the context
	sess *session.Session
	ran  chan struct{} // Run returned

	bytes atomic.Int64 // file content BuildKit read

	mu     sync.Mutex
	sent   []string          // files BuildKit read, in order
	sums   map[string]string // their SHA-256
	keys   map[string]sumKey // their size and time when opened
	walked map[string]sumKey // the context's files and links as BuildKit's filter kept them, with their size and time then
}

// sharedKey names a project's context to BuildKit across sessions: with
// the same key BuildKit compares the new walk against what it kept from
// the last build and asks only for what changed.
func sharedKey(dir string) string {
	sum := sha256.Sum256([]byte("tfdev:" + dir))
	return hex.EncodeToString(sum[:])
}

// startContextSession opens a session on the Engine's /session endpoint
// and waits for the Engine to accept it: an error means the Engine will
// not build from a session (the caller sends a tar).
func (e *Engine) startContextSession(ctx context.Context, p *dockerfile.Project) (*contextSession, error) {
	ctxFS, err := fsutil.NewFS(p.Dir)
	if err != nil {
		return nil, err
	}
	dfFS, err := fsutil.NewFS(filepath.Dir(p.DockerfilePath))
	if err != nil {
		return nil, err
	}
	sess, err := session.NewSession(ctx, sharedKey(p.Dir))
	if err != nil {
		return nil, err
	}
	cs := &contextSession{dir: p.Dir, sess: sess, ran: make(chan struct{}), sums: map[string]string{}, keys: map[string]sumKey{}, walked: map[string]sumKey{}}
	sess.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{
		"context":    countingFS{FS: ctxFS, dir: p.Dir, cs: cs},
		"dockerfile": dfFS,
	}, cs.filter))
	// Base images and --cache-from from private registries: BuildKit asks
	// the session for the docker CLI's logins.
	sess.Allow(authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{AuthConfigProvider: authprovider.LoadAuthConfig(credentials())}))
	dialed := make(chan error, 1)
	go func() {
		defer close(cs.ran)
		err := sess.Run(context.WithoutCancel(ctx), func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			conn, err := e.api.DialHijack(ctx, "/session", proto, meta)
			dialed <- err
			return conn, err
		})
		if err != nil {
			select {
			case dialed <- err:
			default:
			}
		}
	}()
	select {
	case err := <-dialed:
		if err != nil {
			<-cs.ran
			return nil, fmt.Errorf("the Engine refused a build session: %w", err)
		}
	case <-ctx.Done():
		_ = sess.Close()
		return nil, ctx.Err()
	}
	return cs, nil
}

// filter gives BuildKit's walk of the context the ownership the docker CLI
// sends (root, whatever the host's owner) and records what it keeps.
func (cs *contextSession) filter(dir string, opt *fsutil.FilterOpt) error {
	if dir != "context" {
		return nil
	}
	ignoreRead := onlyIgnoreFiles(opt.IncludePatterns, opt.FollowPaths)
	opt.Map = func(p string, st *fstypes.Stat) fsutil.MapResult {
		st.Uid, st.Gid = 0, 0
		if !ignoreRead && !os.FileMode(st.Mode).IsDir() {
			key := sumKey{path: filepath.Join(cs.dir, p), size: st.Size, mtime: st.ModTime}
			if !os.FileMode(st.Mode).IsRegular() {
				key.size = -1 // a link: no content to hash
			}
			cs.mu.Lock()
			cs.walked[filepath.ToSlash(p)] = key
			cs.mu.Unlock()
		}
		return fsutil.MapResultKeep
	}
	return nil
}

// onlyIgnoreFiles: a request for the context's ignore files only (the
// frontend reading .dockerignore, with include patterns or follow paths
// naming it), not a walk of the context.
func onlyIgnoreFiles(lists ...[]string) bool {
	named := 0
	for _, l := range lists {
		for _, p := range l {
			if !strings.HasSuffix(p, ".dockerignore") {
				return false
			}
			named++
		}
	}
	return named > 0
}

// close ends the session and waits for it.
func (cs *contextSession) close() {
	_ = cs.sess.Close()
	<-cs.ran
}

// countingFS is the context as BuildKit reads it, hashing and counting each
// file it asks for.
type countingFS struct {
	fsutil.FS
	dir string
	cs  *contextSession
}

func (c countingFS) Open(p string) (io.ReadCloser, error) {
	full := filepath.Join(c.dir, p)
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	rc, err := c.FS.Open(p)
	if err != nil {
		return nil, err
	}
	key := sumKey{path: full, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	return &hashingReader{ReadCloser: rc, rel: filepath.ToSlash(p), key: key, h: sha256.New(), cs: c.cs}, nil
}

type hashingReader struct {
	io.ReadCloser
	rel string
	key sumKey // the file's size and time when opened
	h   hash.Hash
	cs  *contextSession
	eof bool
}

func (r *hashingReader) Read(b []byte) (int, error) {
	n, err := r.ReadCloser.Read(b)
	r.h.Write(b[:n])
	r.cs.bytes.Add(int64(n))
	if errors.Is(err, io.EOF) {
		r.eof = true
	}
	return n, err
}

func (r *hashingReader) Close() error {
	r.cs.mu.Lock()
	r.cs.sent = append(r.cs.sent, r.rel)
	if r.eof {
		r.cs.sums[r.rel] = hex.EncodeToString(r.h.Sum(nil))
		r.cs.keys[r.rel] = r.key
	}
	r.cs.mu.Unlock()
	return r.ReadCloser.Close()
}

// contextSums lists the context as BuildKit walked it and the SHA-256 of
// each regular file as BuildKit took it: what it read in this build; else
// (unchanged since an earlier build, so not asked for) what an earlier
// build recorded for the size and time BuildKit saw; else the file hashed
// now if it still has them. A file changed since BuildKit's walk, with no
// earlier record, gets no sum: the image's content is not known, and a
// reconcile compares it.
func (cs *contextSession) contextSums(cache *sumCache) ([]string, map[string]string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	files := slices.Sorted(maps.Keys(cs.walked))
	sums := map[string]string{}
	for _, rel := range files {
		key := cs.walked[rel]
		if key.size < 0 {
			continue
		}
		if sum, ok := cs.sums[rel]; ok {
			sums[rel] = sum
			continue
		}
		if sum, ok := cache.get(key); ok {
			sums[rel] = sum
			continue
		}
		fi, err := os.Lstat(key.path)
		if err != nil || fi.Size() != key.size || fi.ModTime().UnixNano() != key.mtime {
			continue
		}
		if sum, err := FileSHA256(key.path); err == nil {
			cache.put(key, sum)
			sums[rel] = sum
		}
	}
	keep := map[sumKey]bool{}
	for _, k := range cs.walked {
		keep[k] = true
	}
	for rel, k := range cs.keys {
		cache.put(k, cs.sums[rel])
		keep[k] = true
	}
	cache.keepOnly(cs.dir, keep) // a file's older sizes and times go
	return files, sums
}

type sumKey struct {
	path        string
	size, mtime int64
}

// sumCache remembers the SHA-256 of context files by path, size and time.
type sumCache struct {
	mu sync.Mutex
	m  map[sumKey]string
}

func (c *sumCache) get(k sumKey) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[k]
	return s, ok
}

// keepOnly forgets the entries of the files under dir that keep does not
// hold.
func (c *sumCache) keepOnly(dir string, keep map[sumKey]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	for k := range c.m {
		if strings.HasPrefix(k.path, prefix) && !keep[k] {
			delete(c.m, k)
		}
	}
}

func (c *sumCache) put(k sumKey, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[sumKey]string{}
	}
	c.m[k] = sum
}
