package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configError is a mistake in flags, environment or config file: the
// message says what to fix, and the exit status is 2.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// envName is the environment variable of a flag: CLISER_ + upper snake case.
func envName(flag string) string {
	return "CLISER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyLayers fills every flag the command line did not set, first from the
// environment, then from the config file (when --config names one): flags
// win over the environment, the environment over the file, the file over
// the defaults. Config file keys are the flag names; values are YAML scalars.
func applyLayers(fs *pflag.FlagSet, configPath string) error {
	file, err := readConfigFile(configPath, fs)
	if err != nil {
		return err
	}
	var firstErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || firstErr != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				firstErr = configErrorf("environment %s=%q: %v", envName(f.Name), v, err)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := fs.Set(f.Name, v); err != nil {
				firstErr = configErrorf("config file %s: %s: %q: %v", configPath, f.Name, v, err)
			}
		}
	})
	return firstErr
}

func readConfigFile(path string, fs *pflag.FlagSet) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, configErrorf("config file: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, configErrorf("config file %s is not valid YAML: %v", path, err)
	}
	out := make(map[string]string, len(doc))
	for k, v := range doc {
		if fs.Lookup(k) == nil || k == "config" {
			return nil, configErrorf("config file %s: unknown setting %q (settings are the flag names of 'cliser serve --help')", path, k)
		}
		switch v.(type) {
		case map[string]any, []any:
			return nil, configErrorf("config file %s: %s must be a single value", path, k)
		}
		out[k] = fmt.Sprint(v)
	}
	return out, nil
}
