package runspec

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tailscale/hujson"
)

// devcontainerJSON is the part of devcontainer.json tfdev reads.
type devcontainerJSON struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Build *struct {
		Dockerfile string            `json:"dockerfile"`
		Context    string            `json:"context"`
		Args       map[string]string `json:"args"`
		Target     string            `json:"target"`
	} `json:"build"`
	DockerFile        string             `json:"dockerFile"` // the older spelling
	Context           string             `json:"context"`
	RunArgs           []string           `json:"runArgs"`
	ContainerEnv      map[string]string  `json:"containerEnv"`
	ForwardPorts      []any              `json:"forwardPorts"`
	WorkspaceFolder   string             `json:"workspaceFolder"`
	ContainerUser     string             `json:"containerUser"`
	HostRequirements  *struct{ GPU any } `json:"hostRequirements"`
	DockerComposeFile any                `json:"dockerComposeFile"`
	Service           string             `json:"service"`
}

// devcontainerIgnored are keys tfdev reads past, named when set.
var devcontainerIgnored = []string{"features", "postCreateCommand", "postStartCommand", "postAttachCommand",
	"onCreateCommand", "updateContentCommand", "initializeCommand", "customizations", "mounts", "workspaceMount",
	"remoteUser", "remoteEnv", "appPort", "privileged", "capAdd", "securityOpt", "overrideCommand"}

// Devcontainer reads name (dir-relative) as VS Code does: JSON with
// comments and trailing commas, paths relative to its folder.
func Devcontainer(dir, name string, env []string) (*Spec, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return nil, err
	}
	std, err := hujson.Standardize(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var dc devcontainerJSON
	if err := json.Unmarshal(std, &dc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	base := filepath.Dir(filepath.Join(root, name))
	if dc.DockerComposeFile != nil {
		return devcontainerCompose(root, base, name, dc, env)
	}
	s := &Spec{Source: name, Image: dc.Image, User: dc.ContainerUser, Workspace: dc.WorkspaceFolder}
	if err := s.devcontainerBuild(root, base, name, dc); err != nil {
		return nil, err
	}
	if s.Context == "" && s.Image == "" {
		return nil, fmt.Errorf("%s: neither build.dockerfile nor image: tfdev has nothing to run", name)
	}
	for _, k := range slices.Sorted(maps.Keys(dc.ContainerEnv)) {
		s.Env = append(s.Env, k+"="+dc.ContainerEnv[k])
	}
	if err := s.runArgs(name, dc.RunArgs); err != nil {
		return nil, err
	}
	s.forwardPorts(dc.ForwardPorts)
	if s.GPUs == "" && wantsGPU(dc.HostRequirements) {
		s.GPUs = "all"
	}
	var all map[string]json.RawMessage
	_ = json.Unmarshal(std, &all) // it parsed above
	for _, k := range devcontainerIgnored {
		if _, ok := all[k]; ok {
			s.Unsupported = append(s.Unsupported, k)
		}
	}
	return s, nil
}

func (s *Spec) devcontainerBuild(root, base, name string, dc devcontainerJSON) error {
	df, ctx, args, target := dc.DockerFile, dc.Context, map[string]string(nil), ""
	if b := dc.Build; b != nil {
		df, ctx, args, target = b.Dockerfile, b.Context, b.Args, b.Target
	}
	if df == "" {
		return nil
	}
	if ctx == "" {
		ctx = "." // the devcontainer.json's folder, as the spec says
	}
	where := name + ": build.context"
	c, err := contextDir(root, filepath.Join(base, ctx), where)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(c, filepath.Join(base, df))
	if err != nil || strings.HasPrefix(rel, "..") {
		return fmt.Errorf("%s: build.dockerfile %s is outside the build context %s", name, df, c)
	}
	s.Context, s.Dockerfile, s.Args, s.Target = c, filepath.ToSlash(rel), args, target
	return nil
}

// appliedRunArgs are the docker run flags tfdev applies, each with a value.
var appliedRunArgs = map[string]bool{"--gpus": true, "--shm-size": true, "--ipc": true, "-e": true, "--env": true, "-u": true, "--user": true, "-w": true, "--workdir": true}

// runArgs reads the docker run flags tfdev applies: --gpus, --shm-size,
// --ipc, -e/--env, -u/--user, -w/--workdir; others are named.
func (s *Spec) runArgs(name string, args []string) error {
	for i := 0; i < len(args); i++ {
		flag, val, inline := strings.Cut(args[i], "=")
		if !appliedRunArgs[flag] {
			s.Unsupported = append(s.Unsupported, "runArgs "+args[i])
			continue
		}
		if !inline {
			if i+1 >= len(args) {
				return fmt.Errorf("%s: runArgs %s has no value", name, flag)
			}
			i++
			val = args[i]
		}
		switch flag {
		case "--gpus":
			s.GPUs = strings.TrimPrefix(strings.Trim(val, `"`), "device=")
		case "--shm-size":
			n, err := parseBytes(val)
			if err != nil {
				return fmt.Errorf("%s: runArgs --shm-size %s: %w", name, val, err)
			}
			s.ShmSize = n
		case "--ipc":
			s.IPC = val
		case "-e", "--env":
			s.Env = append(s.Env, val)
		case "-u", "--user":
			s.User = val
		case "-w", "--workdir":
			s.WorkingDir = val
		}
	}
	return nil
}

// parseBytes reads a docker size: 2g, 512m, 64k, 1024 (bytes).
func parseBytes(v string) (int64, error) {
	v = strings.ToLower(strings.TrimSuffix(strings.ToLower(v), "b"))
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k':
			mult, v = 1<<10, v[:n-1]
		case 'm':
			mult, v = 1<<20, v[:n-1]
		case 'g':
			mult, v = 1<<30, v[:n-1]
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a size")
	}
	return int64(f * float64(mult)), nil
}

// forwardPorts takes Jupyter's port when listed, else the first.
func (s *Spec) forwardPorts(ports []any) {
	var nums []int
	for _, p := range ports {
		switch v := p.(type) {
		case float64:
			nums = append(nums, int(v))
		case string: // "service:port" or "host:port"
			if i := strings.LastIndex(v, ":"); i >= 0 {
				v = v[i+1:]
			}
			if n, err := strconv.Atoi(v); err == nil {
				nums = append(nums, n)
			}
		}
	}
	if len(nums) == 0 {
		return
	}
	s.JupyterPort = nums[0]
	if slices.Contains(nums, jupyterPort) {
		s.JupyterPort = jupyterPort
	}
	s.HostPort = s.JupyterPort
}

func wantsGPU(h *struct{ GPU any }) bool {
	if h == nil {
		return false
	}
	switch v := h.GPU.(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "optional"
	case map[string]any:
		return true
	}
	return false
}

// devcontainerCompose: a dev container that runs a compose service.
func devcontainerCompose(root, base, name string, dc devcontainerJSON, env []string) (*Spec, error) {
	var file string
	switch v := dc.DockerComposeFile.(type) {
	case string:
		file = v
	case []any:
		if len(v) > 0 {
			file, _ = v[0].(string)
		}
	}
	rel, err := filepath.Rel(root, filepath.Join(base, file))
	if err != nil || file == "" || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("%s: dockerComposeFile %q: tfdev reads a compose file inside the project", name, file)
	}
	s, err := Compose(root, filepath.ToSlash(rel), dc.Service, env)
	if err != nil {
		return nil, err
	}
	if dc.WorkspaceFolder != "" {
		s.Workspace = path.Clean(dc.WorkspaceFolder)
	}
	s.Source = name + " → " + s.Source
	return s, nil
}
