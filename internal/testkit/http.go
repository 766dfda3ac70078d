package testkit

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// The helpers here are the tests' view of the admin API over plain HTTP:
// one call with its status and body, and one sample off /metrics. They
// are safe from any goroutine.

// httpClient bounds every request, so a stalled server fails the test
// instead of hanging it.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// AdminURL is the base URL of p's admin API, "http://host:port"; a serve
// run with the admin listener off fails the test.
func (p *Served) AdminURL(t testing.TB) string {
	t.Helper()
	require.NotEqual(t, "off", p.AdminAddr, "this serve has no admin listener")
	return "http://" + p.AdminAddr
}

// HTTPDo sends one request and returns the answer's status and body. A
// body that is not empty goes as JSON, which the admin API requires; the
// header's fields are added to the request.
func HTTPDo(t testing.TB, method, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// HTTPGet is HTTPDo for a GET without a body or extra header.
func HTTPGet(t testing.TB, url string) (int, string) {
	t.Helper()
	return HTTPDo(t, http.MethodGet, url, "", nil)
}

// Metric is the value of series on the /metrics page of the admin API at
// base, and whether the page has it. series is a sample's name with its
// labels as the page writes them: `cliser_bans_active{kind="ip"}`, or
// the bare name of a sample without labels. A page that cannot be read
// has no series, so a poll can call it while the server starts or stops.
// Safe from any goroutine.
func Metric(base, series string) (float64, bool) {
	resp, err := httpClient.Get(base + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, false
	}
	name, _, _ := strings.Cut(series, "{")
	for _, m := range fams[name].GetMetric() {
		if seriesOf(name, m) == series {
			return valueOf(m), true
		}
	}
	return 0, false
}

// seriesOf writes m's name and labels as the text format does.
func seriesOf(name string, m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return name
	}
	pairs := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		pairs = append(pairs, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// valueOf is the value of a counter, gauge or untyped sample.
func valueOf(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}
