package main

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The docs link to each other's sections by anchor ("performance-journal.md#
// session-20-…"): a section renamed or moved to another file must break a
// test, not leave a reader on the top of a 9,000-line page.

var (
	mdLinkRE   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeSpanRE = regexp.MustCompile("`[^`]*`")
	headingRE  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	slugDropRE = regexp.MustCompile(`[^\p{L}\p{M}\p{N}_\- ]`)
	schemeRE   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// proseLines calls f with each line of a markdown text outside fenced code
// blocks, numbered from 1.
func proseLines(text string, f func(n int, line string)) {
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fenced = !fenced
			continue
		}
		if !fenced {
			f(i+1, line)
		}
	}
}

// anchors are a document's heading anchors as GitHub makes them: the
// heading's text lowercased, punctuation dropped, each space a '-', and a
// heading met before suffixed "-1", "-2", ...
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	proseLines(text, func(_ int, line string) {
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			return
		}
		slug := strings.ReplaceAll(slugDropRE.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	})
	return out
}

// brokenLinks lists the relative links of the document name (a path from
// the repository's root) whose file read cannot find, or whose anchor is
// no heading of the markdown file it names. read gives a file's text, or
// false when there is no such file; a directory reads as "".
func brokenLinks(name, text string, read func(rel string) (string, bool)) []string {
	var out []string
	// The journal is 9,000 lines and linked hundreds of times: its anchors
	// are worked out once per file, not once per link.
	anchorsOf := map[string]map[string]bool{}
	headings := func(rel, body string) map[string]bool {
		if _, done := anchorsOf[rel]; !done {
			anchorsOf[rel] = anchors(body)
		}
		return anchorsOf[rel]
	}
	proseLines(text, func(n int, line string) {
		for _, m := range mdLinkRE.FindAllStringSubmatch(codeSpanRE.ReplaceAllString(line, ""), -1) {
			target := m[1]
			if schemeRE.MatchString(target) {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			rel := name
			if file != "" {
				rel = path.Clean(path.Join(path.Dir(name), file))
			}
			body, ok := read(rel)
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("%s:%d: %s: no file %s", name, n, target, rel))
			case anchor != "" && strings.HasSuffix(rel, ".md") && !headings(rel, body)[anchor]:
				out = append(out, fmt.Sprintf("%s:%d: %s: no heading #%s in %s", name, n, target, anchor, rel))
			}
		}
	})
	return out
}

// readRepoPath reads a file of the repository by its path from the root.
func readRepoPath(rel string) (string, bool) {
	p := filepath.Join(repoRoot, filepath.FromSlash(rel))
	st, err := os.Stat(p)
	if err != nil {
		return "", false
	}
	if st.IsDir() {
		return "", true
	}
	b, err := os.ReadFile(p)
	return string(b), err == nil
}

// TestDocsLinksResolve follows every relative link of README.md, docs/*.md
// and bench/results/README.md to its file and, for a markdown file, its
// heading.
func TestDocsLinksResolve(t *testing.T) {
	docs := docFiles(t)
	docs["bench/results/README.md"] = readRepoFile(t, "bench/results/README.md")
	links := 0
	for _, n := range slices.Sorted(maps.Keys(docs)) {
		proseLines(docs[n], func(_ int, line string) {
			links += len(mdLinkRE.FindAllString(codeSpanRE.ReplaceAllString(line, ""), -1))
		})
		for _, broken := range brokenLinks(n, docs[n], readRepoPath) {
			t.Error(broken)
		}
	}
	assert.Greater(t, links, 300, "the docs hold more links than that: is the extraction broken?")
}

// The link check itself must catch a wrong document.
func TestDocsLinkCheckCatchesAWrongDocument(t *testing.T) {
	files := map[string]string{
		"docs/a.md":    "# A page\n\n## The floor: cliser against bare gnet\n\n## Soak\n\n## Soak\n\n### Session 20: the GC's hold (issue 17)\n",
		"docs/img.png": "",
		"README.md":    "# Top\n",
	}
	read := func(rel string) (string, bool) { s, ok := files[rel]; return s, ok }
	bad := "See [the floor](a.md#the-floor-cliser-against-bare-gnet), [soak](a.md#soak-1),\n" +
		"[the hold](a.md#session-20-the-gcs-hold-issue-17), ![chart](img.png), [up](../README.md#top),\n" +
		"[web](https://example.com/x#y) and `[code](nowhere.md)`.\n" +
		"```\n[fenced](nowhere.md)\n```\n" +
		"Broken: [gone](b.md), [old anchor](a.md#session-20-the-gcs-hold), [second soak](a.md#soak-2),\n" +
		"[own](#a-page), [own missing](#no-such), [chart](img.svg).\n"
	files["docs/bad.md"] = bad + "\n# A page\n"
	require.Equal(t, []string{
		"docs/bad.md:7: b.md: no file docs/b.md",
		"docs/bad.md:7: a.md#session-20-the-gcs-hold: no heading #session-20-the-gcs-hold in docs/a.md",
		"docs/bad.md:7: a.md#soak-2: no heading #soak-2 in docs/a.md",
		"docs/bad.md:8: #no-such: no heading #no-such in docs/bad.md",
		"docs/bad.md:8: img.svg: no file docs/img.svg",
	}, brokenLinks("docs/bad.md", files["docs/bad.md"], read))
}
