package harness

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const metricsText = `# HELP x_seconds rtt
# TYPE x_seconds histogram
x_seconds_bucket{le="0.001"} 90
x_seconds_bucket{le="0.0025"} 99
x_seconds_bucket{le="0.01"} 100
x_seconds_bucket{le="+Inf"} 100
x_seconds_sum 0.07
x_seconds_count 100
other_total 5
`

func TestPromHistogramQuantiles(t *testing.T) {
	pg, err := parsePromText(strings.NewReader(metricsText))
	require.NoError(t, err)
	h, err := pg.histogram("x_seconds")
	require.NoError(t, err)
	assert.Equal(t, []float64{0.001, 0.0025, 0.01, math.Inf(1)}, h.Le)
	assert.InDelta(t, 0.001, h.quantile(0.5), 1e-12)
	assert.InDelta(t, 0.0025, h.quantile(0.99), 1e-12)
	assert.InDelta(t, 0.01, h.quantile(0.999), 1e-12)
	assert.InDelta(t, 0.001*50/90, h.within(0.5), 1e-12, "50 of the 90 in (0, 1 ms]")
	assert.InDelta(t, 0.0025, h.within(0.99), 1e-12, "the last of (1, 2.5 ms]")
	assert.InDelta(t, 0.0025+0.0075*0.9, h.within(0.999), 1e-12, "0.9 of the one in (2.5, 10 ms]")

	d := h.since(&promHistogram{Le: h.Le, Cum: []float64{90, 90, 90, 90}, Count: 90})
	assert.InDelta(t, 10, d.Count, 1e-9)
	assert.InDelta(t, 0.0025, d.quantile(0.5), 1e-12)
	assert.True(t, math.IsNaN((&promHistogram{}).quantile(0.5)))

	_, err = pg.histogram("missing")
	assert.ErrorContains(t, err, "no histogram missing")
	_, err = pg.histogram("other_total")
	assert.Error(t, err, "a counter is not a histogram")

	_, err = parsePromText(strings.NewReader("x_seconds not-a-number\n"))
	assert.Error(t, err, "a malformed page is an error")
}

func TestParseGauges(t *testing.T) {
	text := "# HELP go_goroutines x\n# TYPE go_goroutines gauge\ngo_goroutines 17\n" +
		"cliser_clients_connected_total 9\ncliser_clients_connected 42\n"
	pg, err := parsePromText(strings.NewReader(text))
	require.NoError(t, err)
	g, err := pg.gauges("go_goroutines", "cliser_clients_connected")
	require.NoError(t, err)
	assert.Equal(t, []float64{17, 42}, g)
	_, err = pg.gauges("nope")
	assert.ErrorContains(t, err, "no gauge nope")
}
