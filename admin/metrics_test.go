package admin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
)

// metricValue reads one series from the metrics' registry: a counter's or
// gauge's value, a histogram's sample count. labels are name, value pairs.
func metricValue(t *testing.T, m *admin.Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			if !hasLabels(mt, labels) {
				continue
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
		t.Fatalf("%s has no series %v", name, labels)
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func hasLabels(mt *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, lp := range mt.GetLabel() {
		have[lp.GetName()] = lp.GetValue()
	}
	for i := 0; i+1 < len(labels); i += 2 {
		if have[labels[i]] != labels[i+1] {
			return false
		}
	}
	return true
}

func must(n int, err error) int {
	if err != nil {
		panic(err)
	}
	return n
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	m := admin.NewMetrics(registry.New())
	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	assert.Empty(t, problems)

	// The cliser metrics by name, and linted on their own.
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "cliser_") {
			names = append(names, f.GetName())
		}
	}
	assert.ElementsMatch(t, []string{
		admin.MetricClientsConnected, admin.MetricRegistryRecords, admin.MetricHandshakes,
		admin.MetricDisconnects, admin.MetricKeepAliveRTT, admin.MetricKeepAliveTimeouts,
		admin.MetricShutdownsSent, admin.MetricShutdownsAcked, admin.MetricRejections,
		admin.MetricProxyRefused, admin.MetricPerIPCapped, admin.MetricRegistryFlushFailures, admin.MetricRegistryPendingWrites,
		admin.MetricStartRestarted,
	}, names)
	problems, err = testutil.GatherAndLint(m.Registry(), names...)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestEveryReasonLabelExistsFromTheStart(t *testing.T) {
	t.Parallel()
	m := admin.NewMetrics(registry.New())
	for _, name := range []string{admin.MetricDisconnects, admin.MetricRejections} {
		assert.Equal(t, len(protocol.Reasons()), must(testutil.GatherAndCount(m.Registry(), name)), name)
		for _, r := range protocol.Reasons() {
			assert.Zero(t, metricValue(t, m, name, "reason", r.String()), "%s{reason=%q}", name, r)
		}
	}
	assert.Equal(t, len(protocol.Reasons())+1, must(testutil.GatherAndCount(m.Registry(), admin.MetricHandshakes)))
	assert.Zero(t, metricValue(t, m, admin.MetricHandshakes, "result", admin.HandshakeOK))
}

// Real traffic through a real server moves every cliser metric.
func TestMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{reactorOpts: []reactor.Option{
		reactor.WithKeepAlive(40*time.Millisecond, time.Second),
	}})
	m := s.metrics
	assert.Zero(t, metricValue(t, m, admin.MetricClientsConnected))

	// Handshakes: two registered, one refused.
	echo := s.connect(t, "m-echo")
	silent := s.connect(t, "m-silent")
	bad := testkit.Dial(t, s.srv.Addr())
	bad.Send("110 wrong\n")
	bad.ExpectClosed("110 password", testkit.CloseLine(protocol.ReasonAuthFailed))
	eventually(t, func() bool {
		return metricValue(t, m, admin.MetricHandshakes, "result", "auth failed") == 1
	}, "auth failure counted")
	assert.Equal(t, 2.0, metricValue(t, m, admin.MetricHandshakes, "result", admin.HandshakeOK))
	assert.Equal(t, 2.0, metricValue(t, m, admin.MetricClientsConnected))
	assert.Equal(t, 2.0, metricValue(t, m, admin.MetricRegistryRecords))

	// Keep-alives: one client echoes them all (RTT samples), the other
	// none (a timeout).
	lines := echoKeepAlives(echo)
	eventually(t, func() bool { return metricValue(t, m, admin.MetricKeepAliveRTT) >= 1 }, "rtt observed")
	silent.ReadLine()
	silent.ExpectClosed(testkit.CloseLine(protocol.ReasonKeepaliveTimeout))
	eventually(t, func() bool { return metricValue(t, m, admin.MetricKeepAliveTimeouts) >= 1 }, "timeout counted")
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricKeepAliveTimeouts))
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricDisconnects, "reason", "keepalive timeout"))
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricClientsConnected))
	assert.Equal(t, 2.0, metricValue(t, m, admin.MetricRegistryRecords), "a disconnected record stays")

	// A shutdown order, sent and acked, through the API.
	r := s.call(t, http.MethodPost, "/v1/clients/m-echo/shutdown", "")
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	require.Equal(t, "130 shutdown", <-lines)
	echo.Send(protocol.ShutdownAck)
	_, open := <-lines
	require.False(t, open, "closed after the ack")
	eventually(t, func() bool { return metricValue(t, m, admin.MetricShutdownsAcked) == 1 }, "ack counted")
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricShutdownsSent))
	assert.Equal(t, 1.0, metricValue(t, m, admin.MetricDisconnects, "reason", "shutdown"))
	assert.Zero(t, metricValue(t, m, admin.MetricClientsConnected))

	// A kick.
	k := s.connect(t, "m-kick")
	k.AnswerKeepAlives = true // at a 40ms interval one may come before the kick
	require.Equal(t, http.StatusAccepted, s.call(t, http.MethodPost, "/v1/clients/m-kick/kick", "").status)
	k.ExpectClosed(testkit.CloseLine(protocol.ReasonKicked))
	eventually(t, func() bool { return metricValue(t, m, admin.MetricDisconnects, "reason", "kicked") == 1 }, "kick counted")

	// And over HTTP, in the text format.
	resp, err := http.Get(s.base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	assert.Contains(t, text, "\ncliser_clients_connected 0\n")
	assert.Contains(t, text, "\ncliser_registry_records 3\n")
	assert.Contains(t, text, `cliser_handshakes_total{result="ok"} 3`)
	assert.Contains(t, text, `cliser_disconnects_total{reason="kicked"} 1`)
	assert.Contains(t, text, "go_goroutines ")
	assert.Contains(t, text, "process_open_fds ")
	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	assert.Empty(t, problems, "still lint-clean with values")
}

func TestRejectionsCounted(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{reactorOpts: []reactor.Option{reactor.WithMaxConns(1)}})
	first := testkit.Dial(t, s.srv.Addr())
	first.Expect("110 password")
	second := testkit.Dial(t, s.srv.Addr())
	second.ExpectClosed(testkit.CloseLine(protocol.ReasonServerFull))
	eventually(t, func() bool {
		return metricValue(t, s.metrics, admin.MetricRejections, "reason", "server full") == 1
	}, "rejection counted")
}

// echoKeepAlives answers every "100 <token>" c receives, in the background,
// and hands every other line to the channel, which closes when the server
// closes the connection (or after 20s, a test's worst case).
func echoKeepAlives(c *testkit.RawClient) <-chan string {
	lines := make(chan string, 16)
	_ = c.Conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	go func() {
		defer close(lines)
		for {
			line, err := c.R.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "100 ") {
				if _, err := c.Conn.Write([]byte(line)); err != nil {
					return
				}
				continue
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	return lines
}

// GET /v1/stats follows real traffic: counts now, a series that grows each
// interval, handshakes per second, disconnects by reason and RTT quantiles.
func TestStatsFollowTraffic(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{
		reactorOpts: []reactor.Option{reactor.WithKeepAlive(30*time.Millisecond, 5*time.Second)},
		apiOpts:     []admin.Option{admin.WithStatsInterval(50 * time.Millisecond)},
	})
	read := func() admin.StatsResponse {
		var st admin.StatsResponse
		r := s.call(t, http.MethodGet, "/v1/stats", "")
		require.Equal(t, http.StatusOK, r.status)
		r.decode(t, &st)
		return st
	}
	st := read()
	assert.Zero(t, st.Connected)
	assert.Nil(t, st.RTTP50Seconds, "no keep-alive answered yet")
	assert.Equal(t, 0.05, st.IntervalSeconds)

	echo := s.connect(t, "st-echo")
	kicked := s.connect(t, "st-kicked")
	go func() {
		for {
			line, err := echo.R.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "100 ") {
				_, _ = echo.Conn.Write([]byte(line))
			}
		}
	}()
	require.Equal(t, http.StatusAccepted, s.call(t, http.MethodPost, "/v1/clients/st-kicked/kick", "").status)
	kicked.AnswerKeepAlives = true
	kicked.ExpectClosed(testkit.CloseLine(protocol.ReasonKicked))

	eventually(t, func() bool {
		st = read()
		return st.Disconnects["kicked"] == 1 && st.RTTP50Seconds != nil && st.HandshakesPerS > 0 &&
			len(st.Series) >= 3 && st.Series[len(st.Series)-1].Connected == 1
	}, "stats follow the traffic")
	assert.Equal(t, 1, st.Connected)
	assert.Equal(t, 2, st.Records)
	assert.LessOrEqual(t, *st.RTTP50Seconds, *st.RTTP99Seconds)
	assert.Less(t, *st.RTTP99Seconds, 5.0)
	for i := 1; i < len(st.Series); i++ {
		assert.GreaterOrEqual(t, st.Series[i].Time, st.Series[i-1].Time, "the series is oldest first")
	}
}

// cliser_ready is /readyz's verdict, read at each scrape: the alerting
// rules had no metric for a 503 and needed a probe beside the scrape.
// Not accepting clients, or a ready check's error, is 0.
func TestReadyGaugeFollowsReadyz(t *testing.T) {
	var accepting atomic.Bool
	var fault atomic.Pointer[error]
	reg := registry.New()
	m := admin.NewMetrics(reg)
	api := admin.New(reg, admin.WithMetrics(m), admin.WithReady(accepting.Load), admin.WithReadyCheck(func() error {
		if e := fault.Load(); e != nil {
			return *e
		}
		return nil
	}))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = hs.Shutdown(context.Background()) })
	base := "http://" + hs.Addr()
	both := func() (int, string) {
		status := send(t, base, request{path: "/readyz"}).status
		return status, string(send(t, base, request{path: "/metrics"}).body)
	}

	status, metrics := both()
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, metrics, "\ncliser_ready 0\n", "starting")
	accepting.Store(true)
	status, metrics = both()
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, metrics, "\ncliser_ready 1\n")
	storeErr := errors.New("registry store cannot write")
	fault.Store(&storeErr)
	status, metrics = both()
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, metrics, "\ncliser_ready 0\n", "a ready check fails")
}
