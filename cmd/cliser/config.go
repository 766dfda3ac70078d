package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
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

// required is the error of a required setting left empty: a variable set
// but empty is named as such ("--id (from CLISER_ID) ID is required (or
// CLISER_ID)" said neither, agent audit).
func required(flag, arg, what string) error {
	if env := envName(flag); os.Getenv(env) == "" {
		if _, set := os.LookupEnv(env); set {
			return configErrorf("%s is set but empty: give it %s, or unset it", env, what)
		}
	}
	return configErrorf("--%s %s is required (or %s)", flag, arg, envName(flag))
}

// applyLayers fills every flag the command line did not set, first from the
// environment, then from the config file (when --config names one): flags
// win over the environment, the environment over the file, the file over
// the defaults. Config file keys are the flag names; values are YAML scalars.
// It says where each flag it set came from.
func applyLayers(fs *pflag.FlagSet, configPath string) (settingSources, error) {
	file, err := readConfigFile(configPath, fs)
	if err != nil {
		return nil, err
	}
	from := settingSources{}
	var firstErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || firstErr != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			err := fs.Set(f.Name, v)
			switch {
			case err != nil && strings.TrimSpace(v) == "": // the parser's 'parsing "": invalid syntax' said neither (cluster audit)
				firstErr = configErrorf("environment %s is set but empty: give it a value (%s), or unset it", envName(f.Name), f.Value.Type())
			case err != nil:
				firstErr = configErrorf("environment %s=%q: %s", envName(f.Name), v, layerValueProblem(err))
			}
			from[f.Name] = envName(f.Name)
			return
		}
		if v, ok := file[f.Name]; ok {
			err := fs.Set(f.Name, v)
			switch {
			case err != nil && strings.TrimSpace(v) == "":
				firstErr = configErrorf("config file %s: %s is empty: give it a value (%s), or remove the line", configPath, f.Name, f.Value.Type())
			case err != nil:
				firstErr = configErrorf("config file %s: %s: %q: %s", configPath, f.Name, v, layerValueProblem(err))
			}
			from[f.Name] = configSource + configPath
		}
	})
	return from, firstErr
}

// layerValueProblem is what is wrong with an environment's or a config
// file's value for f: in words where a number parser refused it, as a
// switch's yes or a number's "lots" ("strconv.ParseInt: parsing ...:
// invalid syntax" said it in Go's, CLI audit), else pflag's error.
func layerValueProblem(err error) string {
	if problem, ok := valueProblem(err); ok {
		return problem
	}
	return err.Error()
}

// configSource starts a settingSources value for a flag the config file set.
const configSource = "config file "

// settingSources is where each flag the command line did not set came
// from: its environment variable, or the config file.
type settingSources map[string]string

// named adds to a configError's first mention of each flag that came from
// the environment or the config file where it came from: the checks name
// flags, and a person who set CLISER_PROXY_TRUSTED looks for that. Any
// other error comes back as it is.
func (s settingSources) named(err error) error {
	var ce *configError
	if !errors.As(err, &ce) {
		return err
	}
	msg := err.Error()
	for name, from := range s {
		if at := flagMention(msg, "--"+name); at >= 0 {
			msg = msg[:at] + " (from " + from + ")" + msg[at:]
		}
	}
	return &configError{msg: msg}
}

// flagMention is where msg's first mention of flag ends (a mention of a
// longer flag, --proxy-protocol-x for --proxy-protocol, is none), or -1.
func flagMention(msg, flag string) int {
	for from := 0; ; {
		i := strings.Index(msg[from:], flag)
		if i < 0 {
			return -1
		}
		end := from + i + len(flag)
		if end == len(msg) || !isFlagByte(msg[end]) {
			return end
		}
		from = end
	}
}

func isFlagByte(b byte) bool { return b == '-' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

func readConfigFile(path string, fs *pflag.FlagSet) (map[string]string, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, configErrorf("config file (--config or CLISER_CONFIG): %v", err)
	}
	return parseConfig(path, raw, fs)
}

// parseConfig reads raw, the config file at path: a YAML mapping of flag
// names to single values. A value is taken as written (YAML's quoting
// aside): decoded first, 0o17 would become 15, 1e6 1e+06 and a date a
// Go timestamp, and an empty one "<nil>". A refusal names keys, never a
// value, which may be a URL with a password in it.
func parseConfig(path string, raw []byte, fs *pflag.FlagSet) (map[string]string, error) {
	var doc, more yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil // an empty file, or only comments
	} else if err != nil {
		return nil, configErrorf("config file %s is not valid YAML: %v", path, err)
	}
	// A second document (after a --- line) was dropped without a word,
	// unknown keys and all (found by the interface audit).
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, configErrorf("config file %s holds more than one YAML document (a --- or ... line): cliser reads one; "+
			"put every setting in a single mapping", path)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		// Not quoted: a file that is no mapping may be another one, a
		// password file given by mistake.
		return nil, configErrorf("config file %s is not a YAML mapping of settings (setting: value, one a line)", path)
	}
	out := make(map[string]string, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, v := root.Content[i], root.Content[i+1]
		if key.Kind == yaml.AliasNode {
			key = key.Alias
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		k, err := configSetting(path, key, v, fs)
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, configErrorf("config file %s line %d: %s is set twice", path, key.Line, k)
		}
		out[k] = v.Value
	}
	return out, nil
}

// configSetting checks one line of a config file, key: v, and returns the
// setting's name: a flag of fs, not a secret (a file read by more than
// cliser), nor another config file, with a plain single value.
func configSetting(path string, key, v *yaml.Node, fs *pflag.FlagSet) (string, error) {
	if key.Kind != yaml.ScalarNode {
		return "", configErrorf("config file %s line %d: a setting's name is a single word (the flag names of 'cliser serve --help')", path, key.Line)
	}
	k := key.Value
	if fs.Lookup(k+"-file") != nil && fs.Lookup(k) == nil { // password:, admin-token:, webhook-secret:
		return "", configErrorf("config file %s line %d: %q: a secret is not a setting of this file, which is "+
			"read by more than cliser (backups, config management): give %s-file: PATH here, or its environment "+
			"variable", path, key.Line, k, k)
	}
	if k == "config" {
		return "", configErrorf("config file %s line %d: config: a config file names no other (one file, from --config or CLISER_CONFIG): "+
			"remove the line", path, key.Line)
	}
	if fs.Lookup(k) == nil || k == "help" { // help: true was taken, and did nothing (agent audit)
		return "", configErrorf("config file %s line %d: unknown setting %q%s (settings are the flag names of 'cliser serve --help')",
			path, key.Line, k, nearestSetting(k, fs))
	}
	switch {
	case v.Kind != yaml.ScalarNode:
		return "", configErrorf("config file %s: %s must be a single value%s", path, k, listHint(fs.Lookup(k)))
	case v.ShortTag() == "!!null":
		// Not "write it empty": most settings refuse an empty value.
		return "", configErrorf("config file %s: %s has no value: give it one, or remove the line", path, k)
	case strings.TrimSpace(v.Value) == "":
		// Empty is no setting's value: a string one took it as unset
		// (log-level at info, no password file, ...), a number or a
		// duration refused it (CLI audit).
		return "", configErrorf("config file %s: %s is empty: give it a value (%s), or remove the line", path, k, fs.Lookup(k).Value.Type())
	case !slices.Contains([]string{"!!str", "!!int", "!!float", "!!bool", "!!timestamp"}, v.ShortTag()):
		return "", configErrorf("config file %s: %s must be a plain value, not a %s", path, k, v.ShortTag())
	}
	return k, nil
}

// nearestSetting is " (NAME?)" for the setting a misspelt key k is
// nearest to, as a misspelt variable is told (env_unknown.go), or "".
func nearestSetting(k string, fs *pflag.FlagSet) string {
	known := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "config" {
			known[f.Name] = true
		}
	})
	if near := nearest(k, 0, known); near != "" {
		return " (" + near + "?)"
	}
	return ""
}

// listHint tells a YAML list given to a setting that takes several values
// how to write them: one comma-separated string, as the flag takes.
func listHint(f *pflag.Flag) string {
	if strings.Contains(f.Usage, "comma-separated") || strings.Contains(f.Usage, "[,") {
		return ` (several are one comma-separated string: "a,b")`
	}
	return ""
}
