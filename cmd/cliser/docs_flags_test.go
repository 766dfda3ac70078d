package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// The docs' settings tables state each flag's default, and the docs name
// every flag somewhere: a default changed in the code, or a flag added
// without a word, must break a test, not a reader's assumption.

// flagRow is one row of a settings table (a table whose header has a
// "default" column): the flags its first column names, the literals of its
// default column.
type flagRow struct {
	where    string // file:line
	flags    []string
	defaults []string
}

var (
	rowFlagRE    = regexp.MustCompile("`(--[a-z0-9-]+)")
	rowLiteralRE = regexp.MustCompile("`([^`]*)`")
)

// docFlagRows finds the rows of every settings table in a Markdown text.
// A row whose first column names no flag (an env-only variable) is left
// out; a default without a literal ("none", "(required)", "off") is an
// empty list.
func docFlagRows(name, text string) []flagRow {
	var out []flagRow
	col := -1
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "|") {
			col = -1
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if col < 0 {
			for j, c := range cells {
				if strings.EqualFold(strings.TrimSpace(c), "default") {
					col = j
				}
			}
			continue
		}
		if col >= len(cells) || strings.Trim(cells[1], " -:") == "" {
			continue // the separator line
		}
		row := flagRow{where: fmt.Sprintf("%s:%d", name, i+1)}
		for _, m := range rowFlagRE.FindAllStringSubmatch(cells[1], -1) {
			row.flags = append(row.flags, strings.TrimPrefix(m[1], "--"))
		}
		for _, m := range rowLiteralRE.FindAllStringSubmatch(cells[col], -1) {
			if !strings.HasPrefix(m[1], "-") { // "the host of `--server`" names no value
				row.defaults = append(row.defaults, m[1])
			}
		}
		if len(row.flags) > 0 {
			out = append(out, row)
		}
	}
	return out
}

// checkFlagRow says what is wrong with a row against cmd's flags: a flag
// it does not have, or a default that is not the binary's. Durations are
// compared as durations (`1m` is 1m0s).
func checkFlagRow(cmd *cobra.Command, row flagRow) []string {
	var errs []string
	if len(row.defaults) > 0 && len(row.defaults) != len(row.flags) {
		return []string{fmt.Sprintf("%s: %d flags but %d defaults: give one a flag", row.where, len(row.flags), len(row.defaults))}
	}
	for i, name := range row.flags {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			errs = append(errs, fmt.Sprintf("%s: %q has no flag --%s", row.where, cmd.CommandPath(), name))
			continue
		}
		doc := ""
		if len(row.defaults) > 0 {
			doc = row.defaults[i]
		}
		if !sameDefault(doc, f.DefValue) {
			errs = append(errs, fmt.Sprintf("%s: --%s: the docs say %q, the binary %q", row.where, name, doc, f.DefValue))
		}
	}
	return errs
}

func sameDefault(doc, bin string) bool {
	if doc == "" {
		return bin == "" || bin == "false" || bin == "[]"
	}
	d1, err1 := time.ParseDuration(doc)
	d2, err2 := time.ParseDuration(bin)
	if err1 == nil && err2 == nil {
		return d1 == d2
	}
	return doc == bin
}

// tableCommand is the command a document's settings tables are of.
func tableCommand(doc string) []string {
	if doc == "docs/agent.md" {
		return []string{"agent"}
	}
	return []string{"serve"}
}

// TestDocsFlagTablesMatchTheBinary holds every settings table of the docs
// (README's configuration, agent's flags, cluster's, the webhook's, the
// admin listener's) to the binary's flags and defaults, which are also
// what `cliser serve --help` prints.
func TestDocsFlagTablesMatchTheBinary(t *testing.T) {
	rows := 0
	for name, text := range docFiles(t) {
		cmd, _, err := newRootCmd().Find(tableCommand(name))
		require.NoError(t, err)
		for _, row := range docFlagRows(name, text) {
			rows++
			for _, e := range checkFlagRow(cmd, row) {
				t.Error(e)
			}
		}
	}
	assert.Greater(t, rows, 40, "the docs have more settings rows than that: is the table parsing broken?")
}

// The table check itself must catch a wrong document.
func TestDocsFlagTableCheckCatchesAWrongDocument(t *testing.T) {
	bad := "| flag | default | meaning |\n| --- | --- | --- |\n" +
		"| `--listen` | `:7070` | right |\n" +
		"| `--retention` | `720h` | right, as a duration |\n" +
		"| `--auth-fail-limit`, `--auth-fail-window` | `10`, `1m` | right, two at once |\n" +
		"| (env only) `CLISER_PASSWORD` | none | no flag: not checked |\n" +
		"| `--keepalive-interval` | `15s` | wrong |\n" +
		"| `--max-clients` | none | wrong: it has one |\n" +
		"| `--keepalive-intervall` | `30s` | no such flag |\n" +
		"| `--flap-limit`, `--flap-window` | `15` | unpaired |\n" +
		"\nText.\n\n| setting | env | default |\n| --- | --- | --- |\n| `--data-dir` / `CLISER_DATA_DIR` | x | `/data` |\n"
	cmd, _, err := newRootCmd().Find([]string{"serve"})
	require.NoError(t, err)
	var errs []string
	for _, row := range docFlagRows("bad.md", bad) {
		errs = append(errs, checkFlagRow(cmd, row)...)
	}
	assert.Equal(t, []string{
		`bad.md:7: --keepalive-interval: the docs say "15s", the binary "30s"`,
		`bad.md:8: --max-clients: the docs say "", the binary "65535"`,
		`bad.md:9: "cliser serve" has no flag --keepalive-intervall`,
		`bad.md:10: 2 flags but 1 defaults: give one a flag`,
		`bad.md:16: --data-dir: the docs say "/data", the binary "./data"`,
	}, errs)
}

// docFlagWordRE finds a flag as the docs write it, -o or --name whole
// (--tls-ca is not --tls).
var docFlagWordRE = regexp.MustCompile(`(?:^|[^\w-])(--?[a-z0-9][a-z0-9-]*)`)

// TestDocsNameEveryFlag: every flag of every command is named in README.md
// or docs/*.md (by its long name, or its shorthand as -o). Cobra's own
// (--help, completion's) are cobra's to explain.
func TestDocsNameEveryFlag(t *testing.T) {
	var all strings.Builder
	for _, text := range docFiles(t) {
		all.WriteString(text)
	}
	assert.Empty(t, undocumentedFlags(newRootCmd(), all.String()), "flags no document names: say what they do in README.md or docs/")
	assert.Equal(t, []string{"cliser bans list --kind"}, undocumentedFlags(newRootCmd(), strings.ReplaceAll(all.String(), "--kind", "")),
		"the check must catch a flag the docs do not name")
}

func undocumentedFlags(root *cobra.Command, docs string) []string {
	named := map[string]bool{}
	for _, m := range docFlagWordRE.FindAllStringSubmatch(docs, -1) {
		named[m[1]] = true
	}
	var missing []string
	walk(root, func(c *cobra.Command) {
		for p := c; p != nil; p = p.Parent() {
			if p.Name() == "completion" {
				return
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "help" && !named["--"+f.Name] && (f.Shorthand == "" || !named["-"+f.Shorthand]) {
				missing = append(missing, c.CommandPath()+" --"+f.Name)
			}
		})
	})
	sort.Strings(missing)
	return missing
}

// The example line of `cliser events tail` in docs/events.md is what the
// binary prints for the example event above it, field for field.
func TestDocsEventsTailLineIsTheBinarys(t *testing.T) {
	doc := readRepoFile(t, "docs/events.md")
	_, after, ok := strings.Cut(doc, "## An event\n\n```json\n")
	require.True(t, ok, "docs/events.md has no example event under \"## An event\"")
	example, _, _ := strings.Cut(after, "```")
	var ev events.Event
	require.NoError(t, json.Unmarshal([]byte(example), &ev))
	var line bytes.Buffer
	require.NoError(t, printEvent(&line, ev, false))
	assert.True(t, strings.Contains(doc, "\n"+line.String()), "docs/events.md should show the tail line of its example event:\n%s", line.String())
}
