package harness

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func pageOf(t *testing.T, text string) promPage {
	t.Helper()
	pg, err := parsePromText(strings.NewReader(text))
	require.NoError(t, err)
	return pg
}

// The figures of cliser+events' page right after a shutdown of 19,000
// (session 21): nothing queued, no lag, yet 1,703 events not yet posted:
// the writer had taken them and not committed them.
func TestOwedCountsTheEventsTheWriterHolds(t *testing.T) {
	const head = "cliser_events_total{type=\"client.connected\"} 38000\ncliser_events_total{type=\"client.disconnected\"} 38000\n" +
		"cliser_events_queued 0\ncliser_webhook_lag_events 0\ncliser_registry_pending_writes 0\n" +
		"cliser_webhook_events_delivered_total 74297\ncliser_webhook_events_dropped_total 0\n"
	assert.EqualValues(t, 1703, owedOf(pageOf(t, head+"cliser_webhook_delivering 1\n")))
	assert.EqualValues(t, 0, owedOf(pageOf(t, head+"cliser_webhook_delivering 0\n")),
		"a webhook that does not deliver (another node's lease, disabled) owes its receiver nothing here")
}

func TestOwedAddsTheRecordsAndTheLargerOfTheEventFigures(t *testing.T) {
	events := func(queued, lag, taken, posted, dropped int) string {
		return fmt.Sprintf("cliser_events_total{type=\"client.connected\"} %d\ncliser_events_queued %d\ncliser_webhook_lag_events %d\n"+
			"cliser_webhook_events_delivered_total %d\ncliser_webhook_events_dropped_total %d\ncliser_webhook_delivering 1\n",
			taken, queued, lag, posted, dropped)
	}
	assert.EqualValues(t, 5+30, owedOf(pageOf(t, "cliser_registry_pending_writes 5\n"+events(10, 20, 100, 80, 0))),
		"queued and lagging events counted where they exceed the emitted but not posted")
	assert.EqualValues(t, 5+10, owedOf(pageOf(t, events(10, 0, 100, 95, 0))),
		"the log counts an event once stored: the 10 queued are emitted and not posted beside the 5 stored")
	assert.EqualValues(t, 0, owedOf(pageOf(t, events(0, 0, 100, 90, 10))), "an event the webhook gave up on is not owed")
	assert.EqualValues(t, 7, owedOf(pageOf(t, "cliser_registry_pending_writes 7\n")), "cliser with the log off owes its records alone")
	assert.EqualValues(t, 0, owedOf(pageOf(t, "go_goroutines 12\n")), "a server without cliser's metrics owes nothing")
}

// A real cliser+events: once the harness reads nothing owed, every event
// the server emitted has been posted, so no settle ends with a connect's
// events still to write. 150: the last 50 wait out the webhook's linger
// in a batch of their own, committed and queued nowhere.
func TestNothingOwedMeansEveryEventPosted(t *testing.T) {
	srv, _ := startTestServer(t, KindCliserEvents, 0)
	url := goMetricsOf(srv)
	for i := range 150 {
		testkit.Dial(t, srv.Addr()).Register("pw", fmt.Sprintf("dev-%d", i))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		owed, err := backlog(runCtx(t), url)
		require.NoError(t, err)
		if owed == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "still %v owed after 20s", owed)
		time.Sleep(5 * time.Millisecond)
	}
	pg, err := scrapeProm(runCtx(t), url)
	require.NoError(t, err)
	assert.EqualValues(t, 150, pg.sum("cliser_events_total"), "one client.connected each")
	assert.EqualValues(t, 150, pg.sum("cliser_webhook_events_delivered_total"), "the last 50 wait out the webhook's linger")
}
