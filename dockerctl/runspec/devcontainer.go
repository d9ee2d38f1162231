package runspec

import (
	"cmp"
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
	"github.com/tfdev-dev/tfdev/dockerctl/model"
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
	RemoteUser        string             `json:"remoteUser"`
	RemoteEnv         map[string]string  `json:"remoteEnv"`

	InitializeCommand    any `json:"initializeCommand"`
	OnCreateCommand      any `json:"onCreateCommand"`
	UpdateContentCommand any `json:"updateContentCommand"`
	PostCreateCommand    any `json:"postCreateCommand"`
	PostStartCommand     any `json:"postStartCommand"`
}

// devcontainerIgnored are keys tfdev reads past, named when set.
var devcontainerIgnored = []string{"features", "postAttachCommand",
	"customizations", "mounts", "workspaceMount", "appPort", "privileged", "capAdd", "securityOpt", "overrideCommand"}

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
	if err := s.lifecycle(name, dc); err != nil {
		return nil, err
	}
	if dc.WorkspaceFolder != "" {
		s.ServeDir = path.Clean(dc.WorkspaceFolder) // Jupyter shows the workspace, as VS Code opens it
	}
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
		s.ServeDir = s.Workspace
	}
	if err := s.lifecycle(name, dc); err != nil {
		return nil, err
	}
	s.Source = name + " → " + s.Source
	return s, nil
}

// lifecycle reads the lifecycle commands in their three forms: a string
// (a shell line), an array (a command run as it is), an object (named
// commands of either form, run one after the other in name order).
func (s *Spec) lifecycle(name string, dc devcontainerJSON) error {
	l := &s.Lifecycle
	for _, c := range []struct {
		key string
		v   any
		to  *[]model.LifecycleCommand
	}{
		{"initializeCommand", dc.InitializeCommand, &l.Initialize},
		{"onCreateCommand", dc.OnCreateCommand, &l.OnCreate},
		{"updateContentCommand", dc.UpdateContentCommand, &l.UpdateContent},
		{"postCreateCommand", dc.PostCreateCommand, &l.PostCreate},
		{"postStartCommand", dc.PostStartCommand, &l.PostStart},
	} {
		cmds, err := lifecycleCommands("", c.v)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", name, c.key, err)
		}
		*c.to = cmds
	}
	l.User = cmp.Or(dc.RemoteUser, dc.ContainerUser)
	for _, k := range slices.Sorted(maps.Keys(dc.ContainerEnv)) {
		l.Env = append(l.Env, k+"="+dc.ContainerEnv[k])
	}
	for _, k := range slices.Sorted(maps.Keys(dc.RemoteEnv)) {
		l.Env = append(l.Env, k+"="+dc.RemoteEnv[k])
	}
	if dc.WorkspaceFolder != "" {
		l.Dir = path.Clean(dc.WorkspaceFolder)
	}
	return nil
}

func lifecycleCommands(key string, v any) ([]model.LifecycleCommand, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, nil
		}
		return []model.LifecycleCommand{{Name: key, Shell: v}}, nil
	case []any:
		var args []string
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("an array of strings, not %v", v)
			}
			args = append(args, s)
		}
		if len(args) == 0 {
			return nil, nil
		}
		return []model.LifecycleCommand{{Name: key, Args: args}}, nil
	case map[string]any:
		if key != "" {
			return nil, fmt.Errorf("%s: a string or an array of strings", key)
		}
		var out []model.LifecycleCommand
		for _, k := range slices.Sorted(maps.Keys(v)) {
			cs, err := lifecycleCommands(k, v[k])
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("a string, an array of strings or an object, not %v", v)
}
