package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/internal/tied"
)

// deploy/prometheus/cliser-alerts.yaml is what operators page on. These
// hold it to Prometheus's own tools (promtool check and its unit tests),
// to the metrics a real server serves (a renamed metric or label value
// breaks an alert without a word otherwise), and to a real Prometheus
// that scrapes a real cliser with a fault.

const (
	alertRulesFile     = "deploy/prometheus/cliser-alerts.yaml"
	alertRulesTestFile = "deploy/prometheus/cliser-alerts_test.yaml"
)

// alertRule is one rule of the file as these tests read it.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func readAlertRules(t *testing.T) []alertRule {
	t.Helper()
	var doc struct {
		Groups []struct {
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, alertRulesFile)), &doc))
	var out []alertRule
	for _, g := range doc.Groups {
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out, "no rules in %s", alertRulesFile)
	return out
}

// toolOrSkip is the path of a Prometheus tool, Debian's `prometheus`
// package's; .ci/run installs it.
func toolOrSkip(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install prometheus): the alerting rules' test needs it", name)
	}
	return p
}

func runTool(t *testing.T, dir, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
}

// TestAlertRulesPassPromtoolCheck: the file is rules Prometheus loads.
func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	runTool(t, repoRoot, toolOrSkip(t, "promtool"), "check", "rules", alertRulesFile)
}

// TestAlertRulesUnitTests runs cliser-alerts_test.yaml: each alert fires
// on its fault's series once its for: has passed, not before, and never on
// healthy series; and every alert of the file has such a test.
func TestAlertRulesUnitTests(t *testing.T) {
	promtool := toolOrSkip(t, "promtool")
	tests := readRepoFile(t, alertRulesTestFile)
	for _, r := range readAlertRules(t) {
		assert.Contains(t, tests, "alertname: "+r.Alert+"\n", "%s has no test in %s", r.Alert, alertRulesTestFile)
	}
	runTool(t, filepath.Join(repoRoot, "deploy/prometheus"), promtool, "test", "rules", filepath.Base(alertRulesTestFile))
}

var (
	// promqlGroupingRE is a label list of by, without, on, ignoring and
	// group_*: label names, not metrics.
	promqlGroupingRE = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlRangeRE    = regexp.MustCompile(`\[[^\]]*\]`)
	promqlOffsetRE   = regexp.MustCompile(`\boffset\s+-?(?:[0-9]+[a-z]+)+`)
	promqlSelectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?`)
	promqlMatcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	promqlCounterFns = regexp.MustCompile(`\b(?:increase|rate|irate|resets)\s*\(\s*$`)
	docsLinkRE       = regexp.MustCompile(`docs/[a-z-]+\.md(?:#[a-z0-9-]+)?`)
)

var promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true}

// promqlSelector is one vector selector of an expression; before is the
// text of the expression up to it.
type promqlSelector struct {
	name     string
	matchers [][3]string // label, op, value
	before   string
}

// promqlSelectors finds the selectors of expr without a PromQL parser: a
// name not followed by '(' (a function's) and not a keyword, with its
// {…}. Enough for the file's expressions, which TestAlertRulesPassPromtoolCheck
// has Prometheus parse.
func promqlSelectors(expr string) []promqlSelector {
	blank := func(s string) string { return strings.Repeat(" ", len(s)) }
	text := promqlGroupingRE.ReplaceAllStringFunc(expr, blank)
	text = promqlRangeRE.ReplaceAllStringFunc(text, blank)
	text = promqlOffsetRE.ReplaceAllStringFunc(text, blank)
	var out []promqlSelector
	for _, m := range promqlSelectorRE.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[2]:m[3]]
		rest := strings.TrimLeft(text[m[1]:], " \n")
		if promqlKeywords[name] || (m[4] < 0 && strings.HasPrefix(rest, "(")) {
			continue
		}
		s := promqlSelector{name: name, before: text[:m[0]]}
		if m[4] >= 0 {
			for _, mm := range promqlMatcherRE.FindAllStringSubmatch(text[m[4]:m[5]], -1) {
				s.matchers = append(s.matchers, [3]string{mm[1], mm[2], mm[3]})
			}
		}
		out = append(out, s)
	}
	return out
}

func TestPromqlSelectorsFindsNamesAndMatchers(t *testing.T) {
	got := promqlSelectors(`sum without (result) (increase(a_total{result!="ok"}[10m])) > 0 and on(instance) b == 0 or up{job="x"}` +
		` or min_over_time(c[4m]) > max_over_time(c[5m] offset 1h5m)`)
	require.Len(t, got, 5, "%v", got)
	assert.Equal(t, "c", got[3].name)
	assert.Equal(t, "c", got[4].name, "an offset's duration is no metric")
	assert.Equal(t, "a_total", got[0].name)
	assert.Equal(t, [][3]string{{"result", "!=", "ok"}}, got[0].matchers)
	assert.Regexp(t, promqlCounterFns, got[0].before)
	assert.Equal(t, "b", got[1].name)
	assert.Equal(t, "up", got[2].name)
}

// servedLabelValues is, for each metric served by either scrape, each of
// its labels' values.
func servedLabelValues(scrapes ...map[string]*dto.MetricFamily) (map[string]map[string]map[string]bool, map[string]dto.MetricType) {
	values := map[string]map[string]map[string]bool{}
	types := map[string]dto.MetricType{}
	for _, fams := range scrapes {
		for name, f := range fams {
			types[name] = f.GetType()
			if values[name] == nil {
				values[name] = map[string]map[string]bool{}
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if values[name][l.GetName()] == nil {
						values[name][l.GetName()] = map[string]bool{}
					}
					values[name][l.GetName()][l.GetValue()] = true
				}
			}
		}
	}
	return values, types
}

// TestAlertRulesUseOnlyServedMetrics scrapes a single node with every
// optional metric on and a cluster node (as the docs' metrics test does)
// and holds every selector of every alert to them: the metric is served,
// a label it matches is one of its labels, and a value matched exactly
// (= or !=) is one it takes. A counter is read only through increase(),
// rate(), irate() or resets(): a raw counter's value says nothing of now.
// Each alert says how serious it is and what to check, and the docs
// sections its annotations name exist.
func TestAlertRulesUseOnlyServedMetrics(t *testing.T) {
	single, node := scrapeEveryMetric(t)
	values, types := servedLabelValues(single, node)
	for _, r := range readAlertRules(t) {
		sels := promqlSelectors(r.Expr)
		require.NotEmpty(t, sels, "%s: no selector found in %q", r.Alert, r.Expr)
		for _, s := range sels {
			if s.name == "up" { // Prometheus's own, per target
				continue
			}
			labels, ok := values[s.name]
			if !assert.True(t, ok, "%s: %s is served by neither a single node nor a cluster node", r.Alert, s.name) {
				continue
			}
			if types[s.name] == dto.MetricType_COUNTER {
				assert.Regexp(t, promqlCounterFns, s.before, "%s: counter %s read raw", r.Alert, s.name)
			}
			for _, m := range s.matchers {
				vals, ok := labels[m[0]]
				if !assert.True(t, ok, "%s: %s has no label %q", r.Alert, s.name, m[0]) {
					continue
				}
				if m[1] == "=" || m[1] == "!=" {
					assert.True(t, vals[m[2]], "%s: %s{%s} never takes %q (it takes %v)", r.Alert, s.name, m[0], m[2], keysOf(vals))
				}
			}
		}
		assert.Contains(t, []string{"critical", "warning"}, r.Labels["severity"], "%s: severity", r.Alert)
		assert.NotEmpty(t, r.Annotations["summary"], "%s: summary", r.Alert)
		links := docsLinkRE.FindAllString(r.Annotations["description"], -1)
		assert.NotEmpty(t, links, "%s: the description names no docs section", r.Alert)
		for _, l := range links {
			file, anchor, _ := strings.Cut(l, "#")
			body, ok := readRepoPath(file)
			if assert.True(t, ok, "%s: no %s", r.Alert, file) && anchor != "" {
				assert.True(t, anchors(body)[anchor], "%s: no heading #%s in %s", r.Alert, anchor, file)
			}
		}
	}
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// rulesWithoutFor is the rules file with every for: set to 0s and nothing
// else changed, so that a test sees an alert fire as soon as its
// expression holds.
func rulesWithoutFor(t *testing.T) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(readRepoFile(t, alertRulesFile)), &doc))
	n := 0
	for _, g := range doc["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			r.(map[string]any)["for"] = "0s"
			n++
		}
	}
	require.Positive(t, n)
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return out
}

// promAlert is an alert as Prometheus's /api/v1/alerts lists it.
type promAlert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
}

func promAPI(t *testing.T, base, path string, into any) bool {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil || env.Status != "success" {
		return false
	}
	return json.Unmarshal(env.Data, into) == nil
}

func activeAlerts(t *testing.T, base string) []promAlert {
	t.Helper()
	var data struct {
		Alerts []promAlert `json:"alerts"`
	}
	if !promAPI(t, base, "/api/v1/alerts", &data) {
		return nil
	}
	return data.Alerts
}

// rulesEvaluatedSince says whether Prometheus evaluated the cliser group
// after since.
func rulesEvaluatedSince(t *testing.T, base string, since time.Time) bool {
	t.Helper()
	var data struct {
		Groups []struct {
			Name           string    `json:"name"`
			LastEvaluation time.Time `json:"lastEvaluation"`
		} `json:"groups"`
	}
	if !promAPI(t, base, "/api/v1/rules", &data) {
		return false
	}
	for _, g := range data.Groups {
		if g.Name == "cliser" && g.LastEvaluation.After(since) {
			return true
		}
	}
	return false
}

// scrapedSamples is how many scrapes of job cliser Prometheus has in the
// last minute with up == 1.
func scrapedSamples(t *testing.T, base string) int {
	t.Helper()
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	q := "/api/v1/query?query=" + strings.ReplaceAll(`sum_over_time(up{job="cliser"}[1m])`, " ", "%20")
	if !promAPI(t, base, q, &data) || len(data.Result) == 0 {
		return 0
	}
	var n int
	_, _ = fmt.Sscan(fmt.Sprint(data.Result[0].Value[1]), &n)
	return n
}

// startPrometheus runs Debian's prometheus on 127.0.0.1 scraping target
// every second as job cliser and evaluating rules every second; it is
// killed when the test ends. It returns the base URL of its API.
func startPrometheus(t *testing.T, target string, rules []byte) string {
	t.Helper()
	bin := toolOrSkip(t, "prometheus")
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, rules, 0o600))
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: cliser
    static_configs:
      - targets: [%q]
`, rulesPath, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	listen := testkit.FreeAddr(t)
	var logs testkit.LockedBuffer
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, tied.Start(cmd))
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus:\n%s", logs.String())
		}
	})
	base := "http://" + listen
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "prometheus never became ready:\n%s", &logs)
	return base
}

// TestAlertRulesFireOnARealServer runs a real Prometheus with the file's
// rules (for: 0s, the expressions as they are) against a real cliser whose
// webhook URL is a closed port. While no event is due nothing fires; once
// a client registers, its event's deliveries are refused and
// CliserWebhookDeliveryFailing fires for that instance, and nothing else.
func TestAlertRulesFireOnARealServer(t *testing.T) {
	t.Parallel()
	toolOrSkip(t, "prometheus")
	start := time.Now()
	hook := "http://" + testkit.FreeAddr(t) + "/hook" // nobody listens: refused
	p := testkit.Serve(t, webhookEnv(), serveArgs(t.TempDir(), "--webhook-url", hook, "--webhook-linger", "20ms")...)
	prom := startPrometheus(t, p.AdminAddr, rulesWithoutFor(t))
	t.Logf("prometheus ready %s after the start of cliser", time.Since(start).Round(time.Millisecond))

	// Healthy: three scrapes in, the rules evaluated after them, no alert.
	require.Eventually(t, func() bool { return scrapedSamples(t, prom) >= 3 }, 15*time.Second, 100*time.Millisecond,
		"prometheus did not scrape cliser at %s", p.AdminAddr)
	healthyAt := time.Now()
	require.Eventually(t, func() bool { return rulesEvaluatedSince(t, prom, healthyAt) }, 10*time.Second, 100*time.Millisecond)
	assert.Empty(t, activeAlerts(t, prom), "alerts on a healthy server")
	t.Logf("no alert on the healthy server %s after its start", time.Since(start).Round(time.Millisecond))

	// The fault: an event to deliver, and a receiver that is not there.
	opsConnect(t, p.Addr, opsPassword, "alerted-client")
	var got []promAlert
	require.Eventually(t, func() bool {
		got = activeAlerts(t, prom)
		for _, a := range got {
			if a.Labels["alertname"] == "CliserWebhookDeliveryFailing" && a.State == "firing" {
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "CliserWebhookDeliveryFailing never fired; alerts: %v", &got)
	require.Len(t, got, 1, "only the fault's alert: %v", got)
	assert.Equal(t, p.AdminAddr, got[0].Labels["instance"])
	assert.Equal(t, "warning", got[0].Labels["severity"])
	t.Logf("fired %s after the start of cliser", time.Since(start).Round(time.Millisecond))
}
