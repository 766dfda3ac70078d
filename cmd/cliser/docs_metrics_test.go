package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// The metrics tables of the docs are what operators build dashboards and
// alerts from: each metric a server serves must be in one, with the type
// and labels it has, and each one listed must be served. The citation
// check (TestDocsCiteRealTestsAndMetrics) only asks that a name be a
// string somewhere in the code; this scrapes real servers.

// docMetric is one metric as a docs table lists it.
type docMetric struct {
	where  string // file:line
	typ    string // counter, gauge, histogram
	labels []string
}

// metricTableDocs are the documents whose tables list metrics with a
// type (or kind) column.
var metricTableDocs = []string{"docs/operations.md", "docs/events.md", "docs/cluster.md"}

var (
	docMetricNameRE = regexp.MustCompile("`((?:cliser|go|process|promhttp)_[a-z0-9_]*\\*?)(\\{[a-z_, ]*\\})?`")
	backtickedRE    = regexp.MustCompile("`([a-z_]+)`")
)

// docMetricTables reads the metrics of the Markdown tables of text whose
// header has a type or kind column: names (several a row, comma
// separated) from the first column, labels from a labels column or the
// name's {…}.
func docMetricTables(name, text string, into map[string]docMetric) {
	typeCol, labelCol := -1, -1
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "|") {
			typeCol, labelCol = -1, -1
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if typeCol < 0 {
			for j, c := range cells {
				switch strings.TrimSpace(c) {
				case "type", "kind":
					typeCol = j
				case "labels":
					labelCol = j
				}
			}
			continue
		}
		if typeCol >= len(cells) {
			continue
		}
		for _, m := range docMetricNameRE.FindAllStringSubmatch(cells[0], -1) {
			dm := docMetric{where: name + ":" + strconv.Itoa(i+1), typ: strings.TrimSpace(cells[typeCol])}
			if labelCol >= 0 && labelCol < len(cells) {
				for _, l := range backtickedRE.FindAllStringSubmatch(cells[labelCol], -1) {
					dm.labels = append(dm.labels, l[1])
				}
			}
			for _, l := range strings.Split(strings.Trim(m[2], "{}"), ",") {
				if l = strings.TrimSpace(l); l != "" {
					dm.labels = append(dm.labels, l)
				}
			}
			sort.Strings(dm.labels)
			into[m[1]] = dm
		}
	}
}

// scrapeFamilies reads admin's /metrics with token (none: "") and lints
// it as Prometheus's own linter does.
func scrapeFamilies(t *testing.T, admin, token string) map[string]*dto.MetricFamily {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	code, body := testkit.HTTPDo(t, http.MethodGet, admin+"/metrics", "", h)
	require.Equal(t, http.StatusOK, code, body)
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint on %s/metrics", admin)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err)
	return fams
}

// familyLabels are the label names of f's series.
func familyLabels(f *dto.MetricFamily) []string {
	seen := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			seen[l.GetName()] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// TestDocsListEveryMetricOfARealServer scrapes a single node with every
// optional metric on (a webhook, --admin-token-file) and a cluster node,
// and holds the docs' metrics tables to what they serve: name, type and
// labels, both ways. Found missing by the metrics audit: the docs listed
// metrics by hand and nothing compared them with a scrape.
func TestDocsListEveryMetricOfARealServer(t *testing.T) {
	docs := map[string]docMetric{}
	for _, n := range metricTableDocs {
		docMetricTables(n, readRepoFile(t, n), docs)
	}
	require.Contains(t, docs, "cliser_clients_connected", "no metrics table found")

	single, node := scrapeEveryMetric(t)
	served := single
	for name, f := range node {
		if _, ok := served[name]; !ok {
			served[name] = f
		}
	}

	for name, f := range served {
		if pattern := docPattern(docs, name); pattern != "" {
			continue // go_*, process_*: the collectors' own, listed as a family
		}
		d, ok := docs[name]
		if !assert.True(t, ok, "%s (%s) is served and in no metrics table of %v", name, f.GetType(), metricTableDocs) {
			continue
		}
		assert.Equal(t, strings.ToLower(f.GetType().String()), d.typ, "%s: the type at %s", name, d.where)
		assert.Equal(t, familyLabels(f), nonNil(d.labels), "%s: the labels at %s", name, d.where)
	}
	for name, d := range docs {
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			assert.True(t, servedPrefix(served, prefix), "%s at %s: none served", name, d.where)
			continue
		}
		assert.Contains(t, served, name, "%s is listed at %s and served by neither a single node nor a cluster node", name, d.where)
	}
}

// scrapeEveryMetric starts a single node with every optional metric on
// (a webhook, --admin-token-file) and a cluster node, and scrapes both:
// what the docs' tables and the alerting rules are held to.
func scrapeEveryMetric(t *testing.T) (single, node map[string]*dto.MetricFamily) {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin-tokens")
	const token = "docs-metrics-token-0123456789"
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	s := testkit.Serve(t, webhookEnv(), serveArgs(filepath.Join(dir, "data"),
		"--webhook-url", "http://127.0.0.1:1/hook", "--admin-token-file", tokenFile)...)
	ns := testkit.NATS(t)
	n := serveNode(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}, "docs-metrics", "--cluster", ns.ClientURL())
	return scrapeFamilies(t, s.AdminURL(t), token), scrapeFamilies(t, n.AdminURL(t), "")
}

// docPattern is the docs' family pattern (go_*) that name falls under.
func docPattern(docs map[string]docMetric, name string) string {
	for n := range docs {
		if prefix, ok := strings.CutSuffix(n, "*"); ok && strings.HasPrefix(name, prefix) {
			return n
		}
	}
	return ""
}

func servedPrefix(served map[string]*dto.MetricFamily, prefix string) bool {
	for n := range served {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// seriesOf is every series of fams as name{label="value",...}.
func seriesOf(fams map[string]*dto.MetricFamily) map[string]bool {
	out := map[string]bool{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			out[name+"{"+strings.Join(ls, ",")+"}"] = true
		}
	}
	return out
}

// A fleet must not make series: no label may carry a client ID, an
// address or anything else a client chooses, or 100k clients would be
// 100k series on every scrape. Clients of distinct IDs and addresses
// register, fail their password, give a bad ID and leave; the cliser_
// series are the same set before and after (metrics audit).
func TestBinaryMetricsSeriesDoNotGrowWithClients(t *testing.T) {
	p := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir(), "--webhook-url", "http://127.0.0.1:1/hook")...)
	admin := p.AdminURL(t)
	before := seriesOf(scrapeFamilies(t, admin, ""))

	const n = 20
	for i := range n {
		from := "127.0.0." + strconv.Itoa(10+i)
		c := testkit.DialFrom(t, p.Addr, from)
		c.Register(opsPassword, "series-client-"+strconv.Itoa(i))
		if i%2 == 0 {
			_ = c.Conn.Close()
		}
		bad := testkit.DialFrom(t, p.Addr, from)
		bad.Send("110 wrong-" + strconv.Itoa(i) + "\n")
		bad.Expect("110 password")
		bad.Expect("190 auth failed")
		badID := testkit.DialFrom(t, p.Addr, from)
		badID.Send("110 " + opsPassword + "\n120 bad/id/" + strconv.Itoa(i) + "\n")
		badID.Expect("110 password")
		badID.Expect("120 id")
		badID.Expect("190 bad id")
	}
	require.Eventually(t, func() bool {
		v, ok := testkit.Metric(admin, `cliser_disconnects_total{reason="closed by client"}`)
		return ok && v == n/2
	}, waitFor, tick, "the clients that left are counted")

	after := seriesOf(scrapeFamilies(t, admin, ""))
	for s := range after {
		if strings.HasPrefix(s, "cliser_") {
			assert.True(t, before[s], "a new series after %d clients: %s", n, s)
		}
	}
	for s := range before {
		if strings.HasPrefix(s, "cliser_") {
			assert.True(t, after[s], "a series went away: %s", s)
		}
	}
}
