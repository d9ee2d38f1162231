package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
	"github.com/tfdev-dev/tfdev/dockerctl/model"
)

// manifestTypes are the manifests a registry may answer with.
var manifestTypes = []string{
	"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
}

type manifest struct {
	Manifests []struct {
		Digest   string
		Platform struct{ OS, Architecture string }
	}
	Layers []struct{ Size int64 }
}

// RegistrySize asks ref's registry for its manifest (the Engine's
// platform's, from an index) and returns the bytes a pull downloads: the
// sum of its compressed layers. Logins come from the docker CLI.
func RegistrySize(ctx context.Context, ref, arch string) (int64, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return 0, err
	}
	named = reference.TagNameOnly(named)
	host, repo := reference.Domain(named), reference.Path(named)
	tag := ""
	if d, ok := named.(reference.Digested); ok {
		tag = d.Digest().String()
	} else if t, ok := named.(reference.Tagged); ok {
		tag = t.Tag()
	}
	if host == "docker.io" {
		host = "registry-1.docker.io"
	}
	if arch == "" {
		arch = runtime.GOARCH
	}
	rc := &registryClient{base: registryScheme(host) + "://" + host, repo: repo, auth: authFor(credentials(), ref)}
	m, err := rc.manifest(ctx, tag)
	if err != nil {
		return 0, err
	}
	if len(m.Manifests) > 0 {
		digest := m.Manifests[0].Digest
		for _, pm := range m.Manifests {
			if pm.Platform.OS == "linux" && pm.Platform.Architecture == arch {
				digest = pm.Digest
				break
			}
		}
		if m, err = rc.manifest(ctx, digest); err != nil {
			return 0, err
		}
	}
	var total int64
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}

// registryScheme: plain HTTP for loopback registries (the Engine's own
// default insecure range), HTTPS elsewhere.
func registryScheme(host string) string {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if ip := net.ParseIP(h); h == "localhost" || ip != nil && ip.IsLoopback() {
		return "http"
	}
	return "https"
}

type registryClient struct {
	base, repo string
	auth       registry.AuthConfig
	bearer     string
}

func (rc *registryClient) manifest(ctx context.Context, tag string) (manifest, error) {
	var m manifest
	u := fmt.Sprintf("%s/v2/%s/manifests/%s", rc.base, rc.repo, tag)
	resp, err := rc.get(ctx, u, true)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("the registry answers %s for %s", resp.Status, u)
	}
	return m, json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&m)
}

// get sends a GET with the login: Basic, or the Bearer token the registry
// points at when it answers 401 (once).
func (rc *registryClient) get(ctx context.Context, u string, retry bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	if rc.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+rc.bearer)
	} else if rc.auth.Username != "" {
		req.SetBasicAuth(rc.auth.Username, rc.auth.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !retry {
		return resp, err
	}
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	scheme, params, _ := strings.Cut(challenge, " ")
	switch {
	case strings.EqualFold(scheme, "basic") && rc.auth.Username != "":
		return rc.get(ctx, u, false)
	case strings.EqualFold(scheme, "bearer"):
		if err := rc.token(ctx, params); err != nil {
			return nil, err
		}
		return rc.get(ctx, u, false)
	}
	return nil, &model.LoginError{Image: rc.repo, Registry: strings.TrimPrefix(strings.TrimPrefix(rc.base, "https://"), "http://"), Said: "401 Unauthorized"}
}

// token fetches a Bearer token from the realm a 401 named.
func (rc *registryClient) token(ctx context.Context, params string) error {
	p := map[string]string{}
	for _, kv := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		p[k] = strings.Trim(v, `"`)
	}
	q := url.Values{}
	if p["service"] != "" {
		q.Set("service", p["service"])
	}
	q.Set("scope", cmp.Or(p["scope"], "repository:"+rc.repo+":pull"))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p["realm"]+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if rc.auth.Username != "" {
		req.SetBasicAuth(rc.auth.Username, rc.auth.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&t) != nil {
		return fmt.Errorf("the registry's token service answers %s", resp.Status)
	}
	rc.bearer = cmp.Or(t.Token, t.AccessToken)
	return nil
}
