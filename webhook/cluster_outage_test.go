package webhook

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// A NATS outage stops delivery (no cursor write, no lease renewal), and
// delivery goes on from the stored cursor once NATS is back, the events
// appended meanwhile included: nothing lost, and every webhook-id carries
// the same events each time it is sent.
func TestClusterNATSOutageStopsThenResumes(t *testing.T) {
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	l, _ := tempLog(t)
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	n := startClusterNode(t, ns.ClientURL(), "n1", url, l)
	eventually(t, func() bool { return n.r.d.Delivering() }, "n1 delivers")
	appendN(t, l, 5)
	eventually(t, func() bool { return len(distinct(seqsOf(rc.requests(), all))) == 5 }, "the first five delivered")

	ns.Shutdown()
	ns.WaitForShutdown()
	eventually(t, func() bool { return !n.nc.IsConnected() }, "n1 off NATS")
	sent := len(rc.requests())
	appendN(t, l, 5)
	errs := metricValue(t, n.r.d, MetricCursorErrs, "")
	eventually(t, func() bool { return metricValue(t, n.r.d, MetricCursorErrs, "") >= errs+2 || !n.r.d.Delivering() },
		"the bounds' write failed twice, or the lease went")
	require.Len(t, rc.requests(), sent, "nothing sent while NATS is away")

	testkit.NATSAt(t, dir, port) // NATS back: the same store, the same port
	eventually(t, func() bool { return len(distinct(seqsOf(rc.requests(), all))) == 10 }, "the rest delivered once NATS is back")
	require.Equal(t, seqRange(1, 10), distinct(seqsOf(rc.requests(), all)))
	byID := map[string][]events.Event{}
	for _, q := range rc.requests() {
		if prev, ok := byID[q.id]; ok {
			require.Equal(t, prev, q.payload.Data.Events, "webhook-id %s sent with other events", q.id)
		}
		byID[q.id] = q.payload.Data.Events
	}
}
