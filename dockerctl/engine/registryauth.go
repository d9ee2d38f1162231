package engine

import (
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	clitypes "github.com/docker/cli/cli/config/types"
	"github.com/docker/docker/api/types/registry"
)

// dockerHubConfigKey is where the docker CLI keeps Docker Hub's login.
const dockerHubConfigKey = "https://index.docker.io/v1/"

// credentials reads the docker CLI's own config (DOCKER_CONFIG, else
// ~/.docker/config.json, with its credential helpers), as `docker login`
// writes it. A missing or unreadable file is an empty config: pulls of
// public images need none.
func credentials() *configfile.ConfigFile {
	if dir := dockerConfigDir(); dir != "" {
		if cfg, err := config.Load(dir); err == nil {
			return cfg
		}
	}
	return configfile.New("")
}

// RegistryOf is the registry host of an image reference ("docker.io" for
// Docker Hub's).
func RegistryOf(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ""
	}
	return reference.Domain(named)
}

// authFor is the login the docker CLI has for ref's registry (empty when
// none).
func authFor(cfg *configfile.ConfigFile, ref string) registry.AuthConfig {
	host := RegistryOf(ref)
	if host == "docker.io" {
		host = dockerHubConfigKey
	}
	ac, err := cfg.GetAuthConfig(host)
	if err != nil {
		return registry.AuthConfig{}
	}
	return engineAuth(ac)
}

// engineAuth is a docker CLI login as the Engine API takes it.
func engineAuth(ac clitypes.AuthConfig) registry.AuthConfig {
	return registry.AuthConfig{Username: ac.Username, Password: ac.Password, Auth: ac.Auth, ServerAddress: ac.ServerAddress,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
}

// encodedAuth is the X-Registry-Auth header for a pull or push of ref.
func encodedAuth(ref string) string {
	s, err := registry.EncodeAuthConfig(authFor(credentials(), ref))
	if err != nil {
		return ""
	}
	return s
}

// buildAuth is every login the CLI has, for a build's pulls
// (X-Registry-Config: the legacy builder, and BuildKit without a session).
func buildAuth() map[string]registry.AuthConfig {
	all, err := credentials().GetAllCredentials()
	if err != nil {
		return nil
	}
	out := map[string]registry.AuthConfig{}
	for host, ac := range all {
		out[host] = engineAuth(ac)
	}
	return out
}

// needsLogin says whether an Engine or BuildKit message is a registry's
// refusal for want of credentials.
func needsLogin(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"401 unauthorized", "no basic auth credentials", "authentication required", "unauthorized: ", "pull access denied", "insufficient_scope", "failed to authorize"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
