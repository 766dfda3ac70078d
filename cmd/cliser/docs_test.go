package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The docs' shell examples must name only commands and flags the binary
// has, and those that can run offline must run: a renamed flag breaks this
// test, not a reader's first hour.

// docCommand is one `cliser …` command line found in a document.
type docCommand struct {
	where string   // file:line
	args  []string // after the program name
}

// docCommands finds the cliser command lines of a Markdown text: every
// line of a sh/bash/shell fence, lines after a "$ " prompt in other
// fences, and ExecStart= of ini fences; continuation lines are joined.
func docCommands(name, text string) []docCommand {
	var out []docCommand
	fence, inFence := "", false
	pending, start := "", 0
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			fence, inFence = strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), !inFence
			pending = ""
			continue
		}
		if !inFence {
			continue
		}
		if pending == "" {
			start = i + 1
		}
		if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
			pending += cont + " "
			continue
		}
		full := pending + trimmed
		pending = ""
		switch fence {
		case "sh", "bash", "shell":
			full = strings.TrimPrefix(full, "$ ")
		case "ini":
			var ok bool
			if full, ok = strings.CutPrefix(full, "ExecStart="); !ok {
				continue
			}
		default:
			var ok bool
			if full, ok = strings.CutPrefix(full, "$ "); !ok {
				continue
			}
		}
		for _, words := range simpleCommands(shellWords(full)) {
			for len(words) > 0 && isAssignment(words[0]) {
				words = words[1:]
			}
			words = withoutRedirections(words)
			if len(words) > 0 && path.Base(words[0]) == "cliser" {
				out = append(out, docCommand{where: fmt.Sprintf("%s:%d", name, start), args: words[1:]})
			}
		}
	}
	return out
}

// shellWords splits a line as sh would, enough for documentation: quotes,
// backslashes, comments, and the operators | || && ; & as words of their
// own. Inside a usage synopsis's [ ] an | is an alternative, not a pipe.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote, depth := false, byte(0), 0
	flush := func() {
		if inWord {
			w := cur.String()
			depth += strings.Count(w, "[") - strings.Count(w, "]")
			words = append(words, w)
		}
		cur.Reset()
		inWord = false
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			flush()
			return words
		case (c == '|' || c == '&' || c == ';') && depth == 0:
			flush()
			op := string(c)
			if i+1 < len(line) && (line[i+1] == '|' || line[i+1] == '&') && c != ';' {
				i++
				op += string(line[i])
			}
			words = append(words, op)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words
}

// simpleCommands cuts words at the shell's operators.
func simpleCommands(words []string) [][]string {
	var out [][]string
	var cur []string
	for _, w := range words {
		switch w {
		case "|", "||", "&&", ";", "&":
			out, cur = append(out, cur), nil
		default:
			cur = append(cur, w)
		}
	}
	return append(out, cur)
}

// withoutRedirections drops "> FILE", ">FILE", "2>&1" and the like.
func withoutRedirections(words []string) []string {
	out := words[:0:0]
	for i := 0; i < len(words); i++ {
		w := strings.TrimLeft(words[i], "0123456789")
		if !strings.HasPrefix(w, ">") && !strings.HasPrefix(w, "<") {
			out = append(out, words[i])
			continue
		}
		if strings.Trim(w, "<>") == "" { // the target is the next word
			i++
		}
	}
	return out
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	return ok && name != "" && !strings.HasPrefix(name, "-")
}

// checkDocCommand says what is wrong with a documented command line: an
// unknown subcommand or a flag the command does not have. Synopsis marks
// ([ ], a|b) are read as the first alternative.
func checkDocCommand(root *cobra.Command, args []string) error {
	clean := make([]string, 0, len(args))
	for _, a := range args {
		a = strings.Trim(a, "[]")
		if a == "" || a == "|" || a == "..." {
			continue
		}
		if alt, _, ok := strings.Cut(a, "|"); ok && !strings.HasPrefix(a, "-") {
			a = alt
		}
		clean = append(clean, a)
	}
	cmd, rest, err := root.Find(clean)
	if err != nil {
		return err
	}
	cmd.InitDefaultHelpFlag() // cobra adds --help and --version on Execute
	root.InitDefaultVersionFlag()
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && cmd.HasSubCommands() {
		return fmt.Errorf("%q is no subcommand of %q", rest[0], cmd.CommandPath())
	}
	for _, a := range rest {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		var f *pflag.Flag
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			f = cmd.Flag(name)
		} else {
			f = cmd.Flags().ShorthandLookup(a[1:2])
			if f == nil {
				f = cmd.InheritedFlags().ShorthandLookup(a[1:2])
			}
		}
		if f == nil {
			return fmt.Errorf("%q has no flag %s", cmd.CommandPath(), a)
		}
	}
	return nil
}

// docFiles is README.md and docs/*.md, by their names in the repository.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	out := map[string]string{"README.md": readRepoFile(t, "README.md")}
	for _, n := range names {
		rel := "docs/" + filepath.Base(n)
		out[rel] = readRepoFile(t, rel)
	}
	return out
}

// TestDocsNameOnlyRealCommandsAndFlags reads every cliser command line of
// the docs against the binary's command tree.
func TestDocsNameOnlyRealCommandsAndFlags(t *testing.T) {
	total := 0
	for name, text := range docFiles(t) {
		for _, c := range docCommands(name, text) {
			total++
			assert.NoError(t, checkDocCommand(newRootCmd(), c.args), "%s: cliser %s", c.where, strings.Join(c.args, " "))
		}
	}
	assert.Greater(t, total, 40, "the docs show more cliser commands than that: is the extraction broken?")
}

// The check itself must catch a wrong document.
func TestDocsCheckCatchesAWrongDocument(t *testing.T) {
	bad := "Text.\n\n```sh\n" +
		"cliser clients list --status connected   # right\n" +
		"cliser completion bash > /etc/bash_completion.d/cliser 2>/dev/null   # right\n" +
		"CLISER_ADMIN=http://x cliser clients list --no-such-flag | head\n" +
		"cliser clinets list\n" +
		"cliser clients frobnicate pos-1\n" +
		"bin/cliser serve --listen :7070 \\\n    --keepalive-intervall 5s\n" +
		"```\n\n```\n$ cliser status -x\ncliser status --not-a-prompt-line\n```\n"
	cmds := docCommands("bad.md", bad)
	require.Len(t, cmds, 7)
	var errs []string
	for _, c := range cmds {
		if err := checkDocCommand(newRootCmd(), c.args); err != nil {
			errs = append(errs, c.where+": "+err.Error())
		}
	}
	assert.Equal(t, []string{
		`bad.md:6: "cliser clients list" has no flag --no-such-flag`,
		`bad.md:7: "clinets" is no subcommand of "cliser"`,
		`bad.md:8: "frobnicate" is no subcommand of "cliser clients"`,
		`bad.md:9: "cliser serve" has no flag --keepalive-intervall`,
		`bad.md:14: "cliser status" has no flag -x`,
	}, errs)
}

// TestDocsOfflineExamplesRun runs the documented commands that need no
// server: they must exit 0 and print something.
func TestDocsOfflineExamplesRun(t *testing.T) {
	offline := func(args []string) bool {
		if len(args) == 0 {
			return false
		}
		switch args[0] {
		case "version", "--version", "--help", "help", "completion":
			return true
		}
		return args[len(args)-1] == "--help"
	}
	bin := testkit.Binary(t)
	ran := 0
	for name, text := range docFiles(t) {
		for _, c := range docCommands(name, text) {
			if !offline(c.args) {
				continue
			}
			ran++
			cmd := exec.Command(bin, c.args...)
			cmd.Env = os.Environ()
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%s: cliser %s: %s", c.where, strings.Join(c.args, " "), out)
			assert.NotEmpty(t, out, "%s", c.where)
		}
	}
	assert.GreaterOrEqual(t, ran, 3, "the docs show --version, completion and --help")
}

// The docs cite tests as evidence ("TestBinarySignalsWhileStarting") and
// name metrics to alert on: a renamed test or metric must break this
// test, not leave a reader grepping for a name that is gone.

var (
	citedTestRE   = regexp.MustCompile(`\b(?:Test|Benchmark|Fuzz)[A-Z0-9][A-Za-z0-9_]*`)
	citedMetricRE = regexp.MustCompile("`(cliser_[a-z0-9_]+)[`{]")
	testFuncRE    = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]*)\(`)
	metricNameRE  = regexp.MustCompile(`"(cliser_[a-z0-9_]+)"`)
)

// repoNames walks the repository's Go files: the test, benchmark and fuzz
// functions of its tests, and the cliser_* string literals of the rest
// (the metrics' names).
func repoNames(t *testing.T) (tests, metrics map[string]bool) {
	t.Helper()
	tests, metrics = map[string]bool{}, map[string]bool{}
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", "data", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, "_test.go") {
			for _, m := range testFuncRE.FindAllSubmatch(b, -1) {
				tests[string(m[1])] = true
			}
			return nil
		}
		for _, m := range metricNameRE.FindAllSubmatch(b, -1) {
			metrics[string(m[1])] = true
		}
		return nil
	})
	require.NoError(t, err)
	return tests, metrics
}

// missingCitations says which tests and metrics a document names that the
// code does not have. A metric may be named with a histogram's suffix.
func missingCitations(name, text string, tests, metrics map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		for _, n := range citedTestRE.FindAllString(line, -1) {
			if !tests[n] && !seen[n] {
				seen[n] = true
				out = append(out, fmt.Sprintf("%s:%d: no test %s", name, i+1, n))
			}
		}
		for _, m := range citedMetricRE.FindAllStringSubmatch(line, -1) {
			n := m[1]
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(n, suffix); ok && metrics[base] {
					n = base
				}
			}
			if !metrics[n] && !seen[n] {
				seen[n] = true
				out = append(out, fmt.Sprintf("%s:%d: no metric %s", name, i+1, m[1]))
			}
		}
	}
	return out
}

// TestDocsCiteRealTestsAndMetrics holds every document but
// docs/performance-journal.md to the code: that one is a log of
// experiments, some on branches never merged, and names their tests and
// metrics. docs/performance.md is the current reference and is held.
func TestDocsCiteRealTestsAndMetrics(t *testing.T) {
	tests, metrics := repoNames(t)
	require.Contains(t, tests, "TestDocsCiteRealTestsAndMetrics", "the walk found no tests: is repoRoot right?")
	require.Contains(t, metrics, "cliser_clients_connected", "the walk found no metric names")
	docs := docFiles(t)
	delete(docs, "docs/performance-journal.md")
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, miss := range missingCitations(n, docs[n], tests, metrics) {
			t.Error(miss)
		}
	}
}

// A log line quoted in a document names the file and line that log it
// (zap's caller): the line must still be the one that says its message.
// README's and docs/agent.md's transcripts drifted as the code changed
// (an audit found register.go:38 for 47).
func TestDocsQuoteLogLinesFromWhereTheyAre(t *testing.T) {
	caller := regexp.MustCompile(`(?m)\t([a-z]+/[a-z_]+\.go):(\d+)\t([^\t{\n]+?)(?:\t|$)`)
	found := 0
	for name, text := range docFiles(t) {
		for _, m := range caller.FindAllStringSubmatch(text, -1) {
			found++
			path := m[1]
			if strings.HasPrefix(path, "cliser/") { // zap names package main's dir
				path = "cmd/" + path
			}
			lines := strings.Split(readRepoFile(t, path), "\n")
			n, _ := strconv.Atoi(m[2])
			if assert.LessOrEqual(t, n, len(lines), "%s quotes %s:%s", name, m[1], m[2]) {
				assert.Contains(t, lines[n-1], strconv.Quote(m[3]), "%s quotes %s:%s for %q", name, m[1], m[2], m[3])
			}
		}
	}
	assert.GreaterOrEqual(t, found, 13, "README's transcript has 2 log lines, docs/agent.md's 11")
}

// The citation check itself must catch a wrong document.
func TestDocsCitationCheckCatchesAWrongDocument(t *testing.T) {
	tests, metrics := repoNames(t)
	bad := "Evidence: `TestDocsCiteRealTestsAndMetrics`, `go test -run TestNoSuchDocTest ./x`.\n" +
		"Alert on `cliser_clients_connected`, `cliser_keepalive_rtt_seconds_bucket` and\n" +
		"`cliser_handshakes_total{result=\"ok\"}`, `cliser_no_such_metric_total{reason}`.\n" +
		"Not a metric: `deploy/cliser_password`, frontend cliser_tls.\n"
	assert.Equal(t, []string{
		"bad.md:1: no test TestNoSuchDocTest",
		"bad.md:3: no metric cliser_no_such_metric_total",
	}, missingCitations("bad.md", bad, tests, metrics))
}

// A help line must not state a default that cobra prints again.
func TestHelpTextsSayTheirDefaultOnce(t *testing.T) {
	walk(newRootCmd(), func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			shown := f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0s"
			if shown {
				assert.NotContains(t, f.Usage, "default", "%s --%s: cobra prints (default %s) too", c.CommandPath(), f.Name, f.DefValue)
			}
		})
	})
}

func FuzzShellWords(f *testing.F) {
	for _, s := range []string{
		`cliser clients list --status connected   # a comment`,
		`A=1 cliser x 'a b' "c d" e\ f | grep x && y; z &`,
		`cliser clients list [--status connected|disconnected|all] [--limit N | --all]`,
		`echo "unclosed`, `\`, `[[[`, `]]] | x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words := shellWords(line)
		for _, cmd := range simpleCommands(words) {
			for _, w := range cmd {
				switch w {
				case "|", "||", "&&", ";", "&":
					t.Fatalf("operator %q left in a simple command of %q", w, line)
				}
			}
		}
		_ = checkDocCommand(newRootCmd(), words)
	})
}
