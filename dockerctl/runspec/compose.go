package runspec

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// jupyterPort is the port Jupyter images serve on.
const jupyterPort = 8888

// Compose reads the service of the compose file name (in dir) through
// compose-go's loader, with env as the environment (nil: the process's)
// and the folder's .env.
func Compose(dir, name, service string, env []string) (*Spec, error) {
	return ComposeWith(dir, []string{name}, FindOptions{Service: service, Env: env})
}

// ComposeWith reads the service of the compose files, merged in order, as
// docker compose -f a -f b does, with the env files (the project's .env
// when none) and profiles given (COMPOSE_PROFILES when none).
func ComposeWith(dir string, files []string, o FindOptions) (*Spec, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	name, service := strings.Join(files, ", "), o.Service
	envOpt := cli.WithOsEnv
	if o.Env != nil {
		envOpt = cli.WithEnv(o.Env)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f
		if !filepath.IsAbs(f) {
			paths[i] = filepath.Join(root, f)
		}
	}
	opts, err := cli.NewProjectOptions(paths,
		cli.WithWorkingDirectory(root), envOpt, cli.WithEnvFiles(o.EnvFiles...), cli.WithDotEnv,
		cli.WithDefaultProfiles(o.Profiles...),
		cli.WithName(loader.NormalizeProjectName(filepath.Base(root))))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	warnings := captureWarnings()
	project, err := cli.ProjectFromOptions(context.Background(), opts)
	said := warnings()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	svc, err := pickService(project, name, service)
	if err != nil {
		return nil, err
	}
	s := &Spec{Source: name, Service: svc.Name, Image: svc.Image, WorkingDir: svc.WorkingDir, User: svc.User,
		ShmSize: int64(svc.ShmSize), IPC: svc.Ipc, Entrypoint: svc.Entrypoint, Command: svc.Command}
	if b := svc.Build; b != nil {
		where := fmt.Sprintf("%s: service %s", name, svc.Name)
		if s.Context, err = contextDir(root, b.Context, where); err != nil {
			return nil, err
		}
		s.Dockerfile, s.Target, s.Args, s.CacheFrom = b.Dockerfile, b.Target, mapping(b.Args), b.CacheFrom
		if b.DockerfileInline != "" {
			return nil, fmt.Errorf("%s: dockerfile_inline: tfdev reads the Dockerfile from a file; write it to one", where)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(svc.Environment)) {
		if v := svc.Environment[k]; v != nil {
			s.Env = append(s.Env, k+"="+*v)
		}
	}
	s.ports(svc.Ports)
	s.GPUs = composeGPUs(svc)
	s.volumes(root, files[0], project, svc)
	s.Unsupported = append(unsupported(project, svc), s.Unsupported...)
	s.Warnings = said
	return s, nil
}

// captureWarnings collects what compose-go's loader logs (an unset
// variable, an obsolete key) until the returned func is called, which
// gives them back: they are said with the session's events, not printed
// on their own.
func captureWarnings() func() []string {
	log := logrus.StandardLogger()
	out, format := log.Out, log.Formatter
	var buf bytes.Buffer
	log.SetOutput(&buf)
	log.SetFormatter(messageOnly{})
	return func() []string {
		log.SetOutput(out)
		log.SetFormatter(format)
		return strings.FieldsFunc(buf.String(), func(r rune) bool { return r == '\n' })
	}
}

type messageOnly struct{}

func (messageOnly) Format(e *logrus.Entry) ([]byte, error) { return []byte(e.Message + "\n"), nil }

// pickService: the one named; else the only one with a build; else the one
// publishing Jupyter's port; else the only one.
func pickService(p *types.Project, file, name string) (types.ServiceConfig, error) {
	names := slices.Sorted(maps.Keys(p.Services))
	if name != "" {
		svc, ok := p.Services[name]
		if !ok {
			return svc, fmt.Errorf("%s has no service %q (it has %s)", file, name, strings.Join(names, ", "))
		}
		return svc, nil
	}
	var built, jupyter []string
	for _, n := range names {
		svc := p.Services[n]
		if svc.Build != nil {
			built = append(built, n)
		}
		for _, port := range svc.Ports {
			if port.Target == jupyterPort {
				jupyter = append(jupyter, n)
			}
		}
	}
	for _, pick := range [][]string{built, jupyter, names} {
		if len(pick) == 1 {
			return p.Services[pick[0]], nil
		}
	}
	return types.ServiceConfig{}, fmt.Errorf("%s has several services (%s) and none is clearly the Jupyter one: name it, tfdev up SERVICE", file, strings.Join(names, ", "))
}

func mapping(m types.MappingWithEquals) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// ports takes the port mapping of Jupyter's port, else the first.
func (s *Spec) ports(ports []types.ServicePortConfig) {
	if len(ports) == 0 {
		return
	}
	pick := ports[0]
	for _, p := range ports {
		if p.Target == jupyterPort {
			pick = p
			break
		}
	}
	s.JupyterPort = int(pick.Target)
	s.HostPort, _ = strconv.Atoi(pick.Published) // a range, or none: no host port
}

// composeGPUs reads a GPU request: deploy.resources.reservations.devices
// with the gpu capability, or gpus:.
func composeGPUs(svc types.ServiceConfig) string {
	reqs := svc.Gpus
	if svc.Deploy != nil && svc.Deploy.Resources.Reservations != nil {
		for _, d := range svc.Deploy.Resources.Reservations.Devices {
			if slices.Contains(d.Capabilities, "gpu") {
				reqs = append(reqs, d)
			}
		}
	}
	for _, d := range reqs {
		switch {
		case len(d.IDs) > 0:
			return strings.Join(d.IDs, ",")
		case d.Count > 0:
			return strconv.Itoa(int(d.Count))
		default: // count: all (-1), or none said: all
			return "all"
		}
	}
	return ""
}

// volumes: a bind mount of a project folder becomes a sync mapping; other
// binds and named volumes are mounted as compose mounts them.
func (s *Spec) volumes(root, file string, p *types.Project, svc types.ServiceConfig) {
	for _, v := range svc.Volumes {
		ro := ""
		if v.ReadOnly {
			ro = ":ro"
		}
		switch v.Type {
		case types.VolumeTypeBind:
			if rel, ok := projectMount(root, v.Source); ok {
				text := "volume " + relSource(rel) + ":" + v.Target
				s.Mounts = append(s.Mounts, Mount{Source: rel, Target: v.Target, Line: lineOf(root, file, ":"+v.Target), Text: text})
				continue
			}
			s.Binds = append(s.Binds, v.Source+":"+v.Target+ro)
		case types.VolumeTypeVolume:
			if v.Source == "" {
				s.Unsupported = append(s.Unsupported, "an anonymous volume at "+v.Target)
				continue
			}
			vol := v.Source
			if c, ok := p.Volumes[v.Source]; ok && c.Name != "" {
				vol = c.Name
			}
			s.Binds = append(s.Binds, vol+":"+v.Target+ro)
		case types.VolumeTypeTmpfs:
			if s.Tmpfs == nil {
				s.Tmpfs = map[string]string{}
			}
			s.Tmpfs[v.Target] = ""
		default:
			s.Unsupported = append(s.Unsupported, fmt.Sprintf("a %s volume at %s", v.Type, v.Target))
		}
	}
}

func relSource(rel string) string {
	if rel == "." {
		return "."
	}
	return "./" + rel
}

// unsupported names what tfdev does not apply from the file.
func unsupported(p *types.Project, svc types.ServiceConfig) []string {
	var keys []string
	for key, set := range map[string]bool{
		"networks":     len(svc.Networks) > 1 || len(svc.Networks) == 1 && !hasKey(svc.Networks, "default"),
		"depends_on":   len(svc.DependsOn) > 0,
		"links":        len(svc.Links) > 0,
		"secrets":      len(svc.Secrets) > 0,
		"configs":      len(svc.Configs) > 0,
		"healthcheck":  svc.HealthCheck != nil,
		"restart":      svc.Restart != "",
		"devices":      len(svc.Devices) > 0,
		"cap_add":      len(svc.CapAdd) > 0,
		"privileged":   svc.Privileged,
		"network_mode": svc.NetworkMode != "",
		"extra_hosts":  len(svc.ExtraHosts) > 0,
	} {
		if set {
			keys = append(keys, key)
		}
	}
	slices.Sort(keys)
	var others []string
	for _, n := range slices.Sorted(maps.Keys(p.Services)) {
		if n != svc.Name {
			others = append(others, n)
		}
	}
	if len(others) > 0 {
		keys = append([]string{"other services (" + strings.Join(others, ", ") + "): tfdev runs " + svc.Name + " only"}, keys...)
	}
	return keys
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
