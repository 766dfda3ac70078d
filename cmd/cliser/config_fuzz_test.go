package main

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// configSeeds are the config files of the tests (TestPrecedence…,
// TestConfigMistakesSayWhatToFix, the README's example) and of the
// mistakes this target found: an empty value, a date, a number spelt
// otherwise than Go spells it, a file that is no mapping.
var configSeeds = []string{
	"listen: 127.0.0.1:9001\nkeepalive-interval: 5s\nkeepalive-timeout: 3s\n",
	"max-clients: 10\n",
	"keepalive: 5s\n",
	"keepalive-interval: soon\n",
	"listen: \":7070\"\nkeepalive-interval: 15s\nmax-clients: 20000\ndata-dir: /var/lib/cliser\n",
	"listen:\n", "node-id: 2001-12-14\n", "max-clients: 0o17\n", "max-clients: 1e6\n",
	"nats://u:hunter2@h\n", "node-id: 1.10\n", "max-clients: 0x10\n", "? [a]\n: b\n", "listen: [a, b]\n", "listen: !!binary aGVsbG8=\n",
	"a: &x 1\nmax-clients: *x\n", "max-clients: 1\nmax-clients: 2\n", "<<: {listen: x}\n", "config: other.yaml\n", " soonkeeval: soon\n",
	"cluster: nats://u:hunter2@n1:4222\n", "# only a comment\n", "",
}

func serveFlags() *pflag.FlagSet { return newServeCmd().Flags() }

// FuzzConfigFile: any file. Nothing panics; a refusal is a configError
// that never quotes a value (a --cluster URL may hold a password);
// what is accepted has only flag names for keys (never config), each once,
// and agrees with YAML's own decoding: a single, non-null value each,
// the string YAML decodes it into.
func FuzzConfigFile(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s))
	}
	fs := serveFlags()
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseConfig("c.yaml", raw, fs)
		var doc yaml.Node
		parsed := yaml.Unmarshal(raw, &doc) == nil
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("refusal %v is no configError", err)
			}
			if parsed && len(doc.Content) > 0 {
				keys := map[string]bool{}
				collect(doc.Content[0], keys, nil)
				values := map[string]bool{}
				collect(doc.Content[0], nil, values)
				// A refusal names an unknown key as quoted: a value that is
				// a piece of it ("soon" of "soonkeeval") is not shown by that.
				msg := err.Error()
				for k := range keys {
					msg = strings.ReplaceAll(msg, strconv.Quote(k), "\x00")
				}
				fs.VisitAll(func(f *pflag.Flag) { // the setting a misspelt key is nearest to
					msg = strings.ReplaceAll(msg, "("+f.Name+"?)", "\x00")
				})
				for v := range values {
					if len(v) >= 4 && !keys[v] && strings.Contains(msg, v) &&
						!strings.Contains(strings.Join(knownConfigWords, " "), v) {
						t.Fatalf("refusal %q quotes the value %q", err, v)
					}
				}
			}
			return
		}
		var typed map[string]any
		if terr := yaml.Unmarshal(raw, &typed); terr != nil {
			t.Fatalf("accepted %v, which YAML does not decode into a mapping: %v", got, terr)
		}
		if len(typed) != len(got) {
			t.Fatalf("accepted %v, YAML decodes %v", got, typed)
		}
		for k, v := range got {
			if fs.Lookup(k) == nil || k == "config" {
				t.Fatalf("accepted key %q is no flag", k)
			}
			switch dv := typed[k].(type) {
			case nil, map[string]any, []any:
				t.Fatalf("accepted %s: %q, which YAML decodes as %#v", k, v, dv)
			}
		}
		// Every value is a scalar: YAML decodes them all into strings,
		// as written (1.10 stays 1.10, a date stays a date).
		var asText map[string]string
		if terr := yaml.Unmarshal(raw, &asText); terr != nil || len(asText) != len(got) {
			t.Fatalf("accepted %v, YAML decodes into strings %v (%v)", got, asText, terr)
		}
		for k, v := range got {
			if asText[k] != v {
				t.Fatalf("accepted %s: %q, YAML decodes %q", k, v, asText[k])
			}
		}
	})
}

// knownConfigWords are the words of parseConfig's messages, which a value
// may happen to be a piece of.
var knownConfigWords = []string{"config file c.yaml is not valid YAML: yaml: line",
	"is not a YAML mapping of settings (setting: value, one a line)",
	"a setting's name is a single word (the flag names of 'cliser serve --help')",
	"unknown setting (settings are the flag names of 'cliser serve --help')", "is set twice",
	"must be a single value", "has no value: give it one, or remove the line", "must be a plain value, not a !!",
	"is empty: give it a value (bool duration int string stringSlice), or remove the line",
	"a secret is not a setting of this file, which is read by more than cliser (backups, config management): give -file: PATH here, or its environment variable"}

// collect gathers the mapping keys (into keys) or the other scalars (into
// values) under n.
func collect(n *yaml.Node, keys, values map[string]bool) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if keys != nil && n.Content[i].Kind == yaml.ScalarNode {
				keys[n.Content[i].Value] = true
			}
			collect(n.Content[i+1], keys, values)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && values != nil {
		values[n.Value] = true
	}
	for _, c := range n.Content {
		collect(c, keys, values)
	}
}

// FuzzConfigValue: any string, written by YAML as the value of any
// setting, is read back exactly as it was written (no "<nil>", no 1e+06
// for 1e6, no Go timestamp for a date), or refused when it is empty. Where the YAML package does not
// read back its own writing (a first line starting with a tab is written
// as a literal block its reader refuses, yaml/go-yaml#383), the file does
// not hold the value for anyone: it is read as YAML reads it.
func FuzzConfigValue(f *testing.F) {
	for i, s := range []string{"127.0.0.1:9001", "5s", "10", "soon", ":7070", "/var/lib/cliser", "", "~", "null",
		"2001-12-14", "0o17", "1e6", "0x10", "99999999999999999999999", ".inf", "yes", "True", "nats://u:hunter2@n1:4222", "a\nb", " x ",
		"\t\n0", "a\n\tb"} {
		f.Add(uint8(i), s)
	}
	fs := serveFlags()
	var names []string
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Name != "config" {
			names = append(names, fl.Name)
		}
	})
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if !utf8.ValidString(value) {
			return // YAML writes it as !!binary, which is refused: a setting is text
		}
		name := names[int(which)%len(names)]
		raw, err := yaml.Marshal(map[string]string{name: value})
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseConfig("c.yaml", raw, fs)
		var back map[string]string
		if yerr := yaml.Unmarshal(raw, &back); yerr != nil || back[name] != value {
			// YAML's own writing and reading disagree (its bug, not ours).
			if yerr != nil {
				mustConfigError(t, err, "config file c.yaml is not valid YAML")
				return
			}
			if err != nil || got[name] != back[name] || len(got) != 1 {
				t.Fatalf("%s: %q written as %q read back as %q, YAML reads %q (%v)", name, value, raw, got, back[name], err)
			}
			return
		}
		if strings.TrimSpace(value) == "" { // no setting's value
			mustConfigError(t, err, "config file c.yaml: "+name+" is empty: give it a value (")
			return
		}
		if err != nil {
			t.Fatalf("%s: %q written as %q refused: %v", name, value, raw, err)
		}
		if v, ok := got[name]; !ok || v != value || len(got) != 1 {
			t.Fatalf("%s: %q written as %q read back as %q", name, value, raw, got)
		}
	})
}
