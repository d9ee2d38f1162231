package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// configurable are the flags that tfdev.toml, [tool.tfdev] in pyproject.toml
// and TFDEV_<FLAG> environment variables may set.
var configurable = []string{
	"file", "build-arg", "target", "port", "host-ip", "gpus", "token", "builder", "context-via", "cache-from",
	"debounce", "keep", "no-tui", "output", "deps", "autoreload", "jupyter-via", "publish", "host-ids", "command",
	"carry-kernels", "carry-cap",
}

// applyConfig fills the flags the user did not give, lowest priority first:
// defaults (already there), the project's config file, then TFDEV_<FLAG>.
func applyConfig(cmd *cobra.Command, dir string) error {
	fs := cmd.Flags()
	given := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { given[f.Name] = true })
	settable := func(name string) bool { return !given[name] && fs.Lookup(name) != nil }

	values, file, err := readConfigFile(dir)
	if err != nil {
		return badInput(err)
	}
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !settable(k) {
			continue
		}
		for _, v := range values[k] {
			if err := fs.Set(k, v); err != nil {
				return badInput(fmt.Errorf("%s: %s: %w", file, k, err))
			}
		}
	}
	for _, k := range configurable {
		env := "TFDEV_" + strings.ToUpper(strings.ReplaceAll(k, "-", "_"))
		v, ok := os.LookupEnv(env)
		if !ok || !settable(k) {
			continue
		}
		vals := []string{v}
		if k == "build-arg" {
			vals = strings.Split(v, ",")
		}
		for i, v := range vals {
			if i == 0 {
				if sv, ok := fs.Lookup(k).Value.(pflag.SliceValue); ok {
					// The environment replaces the file's build args;
					// emptying a slice flag cannot fail.
					_ = sv.Replace(nil)
				}
			}
			if err := fs.Set(k, v); err != nil {
				return badInput(fmt.Errorf("%s: %w", env, err))
			}
		}
	}
	return nil
}

// readConfigFile reads tfdev.toml, or [tool.tfdev] of pyproject.toml, in
// dir. Values come back as flag strings; an unknown key is an error that
// names the key and the file.
func readConfigFile(dir string) (map[string][]string, string, error) {
	var raw map[string]any
	file := filepath.Join(dir, "tfdev.toml")
	if _, err := toml.DecodeFile(file, &raw); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, file, fmt.Errorf("%s: %w", file, err)
		}
		file = filepath.Join(dir, "pyproject.toml")
		var py struct {
			Tool struct {
				Tfdev map[string]any `toml:"tfdev"`
			} `toml:"tool"`
		}
		if _, err := toml.DecodeFile(file, &py); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, "", nil
			}
			return nil, file, fmt.Errorf("%s: %w", file, err)
		}
		raw = py.Tool.Tfdev
		file += " [tool.tfdev]"
	}
	known := map[string]bool{}
	for _, k := range configurable {
		known[k] = true
	}
	out := map[string][]string{}
	for k, v := range raw {
		key := strings.ReplaceAll(k, "_", "-")
		if !known[key] {
			return nil, file, fmt.Errorf("%s: unknown key %q (known: %s)", file, k, strings.Join(configurable, ", "))
		}
		switch v := v.(type) {
		case map[string]any: // build-arg = { BASE = "..." }
			for ak, av := range v {
				out[key] = append(out[key], fmt.Sprintf("%s=%v", ak, av))
			}
			sort.Strings(out[key])
		case []any:
			for _, x := range v {
				out[key] = append(out[key], fmt.Sprint(x))
			}
		default:
			out[key] = []string{fmt.Sprint(v)}
		}
	}
	return out, file, nil
}
