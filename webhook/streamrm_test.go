package webhook

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// streamNode is one cluster node's event log and webhook delivery, as
// serve wires them: the cluster's JetStream stream, the KV cursor and the
// lease. The stream's connection and the cursor's are apart (the same
// server but in TestClusterCursorAheadOfAStaleStreamCopyIsKept).
type streamNode struct {
	name string
	ncs  []*nats.Conn
	js   jetstream.JetStream // the cursor's and the lease's
	s    *events.Stream
	r    *running
	zl   *zap.Logger
	logs *observer.ObservedLogs
}

// openStreamNode opens name's view of the event stream on url (no
// delivery yet).
func openStreamNode(t *testing.T, url, name string) *streamNode {
	return openStreamNodeOn(t, url, url, name, 1)
}

// openStreamNodeR3 is openStreamNode of a stream of three replicas, its
// cursor and lease on cursorURL.
func openStreamNodeR3(t *testing.T, streamURL, cursorURL, name string) *streamNode {
	return openStreamNodeOn(t, streamURL, cursorURL, name, 3)
}

func openStreamNodeOn(t *testing.T, streamURL, cursorURL, name string, replicas int) *streamNode {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	n := &streamNode{name: name, zl: zap.New(core).Named(name), logs: logs}
	connect := func(url string) *nats.Conn {
		nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		require.NoError(t, err)
		n.ncs = append(n.ncs, nc)
		return nc
	}
	t.Cleanup(n.stop)
	t.Cleanup(func() { // a failure under load says what each node saw
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("%s %s %s %v", name, e.Level, e.Message, e.ContextMap())
			}
		}
	})
	s, err := events.OpenStream(connect(streamURL), []events.Option{events.WithRetention(1000), events.WithLogger(n.zl)},
		events.WithStreamReplicas(replicas))
	require.NoError(t, err)
	n.s = s
	n.js, err = jetstream.New(connect(cursorURL))
	require.NoError(t, err)
	return n
}

// cursor is the node's KV cursor of the webhook at url.
func (n *streamNode) cursor(t *testing.T, url string) *KVCursor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := NewKVCursor(ctx, n.js, url, 1)
	require.NoError(t, err)
	return c
}

// deliver starts the node's webhook delivery to url, with a lease.
func (n *streamNode) deliver(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lease, err := NewKVLease(ctx, n.js, url, n.name, time.Second, 1, zap.NewNop())
	require.NoError(t, err)
	n.deliverWith(t, url, n.cursor(t, url), WithLease(lease))
}

// deliverWith starts the node's webhook delivery to url from c.
func (n *streamNode) deliverWith(t *testing.T, url string, c Cursor, opts ...Option) {
	t.Helper()
	opts = append([]Option{WithBatch(20), WithLinger(20 * time.Millisecond), WithLogger(n.zl)}, opts...)
	n.r = startDeliverer(t, url, n.s, c, opts...)
}

// stop ends the node: delivery, the stream's writer (what it queued is
// published), the connection.
func (n *streamNode) stop() {
	if n.r != nil {
		_ = n.r.halt()
	}
	if n.s != nil {
		_ = n.s.Close()
		n.s = nil
	}
	for _, nc := range n.ncs {
		nc.Close()
	}
}

// appendCIDs appends a client.connected of each cid.
func (n *streamNode) appendCIDs(t *testing.T, prefix string, count int) {
	t.Helper()
	for i := range count {
		require.True(t, n.s.Append(events.Event{Type: events.TypeConnected, CID: prefix + strconv.Itoa(i), Node: n.name}))
	}
}

// delivered are the (seq, cid) of the events rc got, in order, as "seq:cid".
func delivered(rc *receiver) []string {
	var out []string
	for _, q := range rc.requests() {
		for _, e := range q.payload.Data.Events {
			out = append(out, strconv.FormatUint(e.Seq, 10)+":"+e.CID)
		}
	}
	return out
}

func seqCIDs(from uint64, prefix string, count int) []string {
	var out []string
	for i := range count {
		out = append(out, strconv.FormatUint(from+uint64(i), 10)+":"+prefix+strconv.Itoa(i))
	}
	return out
}

// storedAcked waits until the KV cursor of url holds acked.
func storedAcked(t *testing.T, js jetstream.JetStream, url string, acked uint64) {
	t.Helper()
	kv, err := js.KeyValue(context.Background(), CursorBucket)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		e, err := kv.Get(context.Background(), cursorKey(url))
		if err != nil {
			return false
		}
		st, err := decodeState(e.Value())
		return err == nil && st.Acked == acked
	}, 10*time.Second, 10*time.Millisecond, "the cursor stored at %d", acked)
}

// deliveringNode starts NATS, a receiver and node n1, which delivers to
// it (it holds the lease).
func deliveringNode(t *testing.T) (natsURL string, js jetstream.JetStream, rc *receiver, url string, n1 *streamNode) {
	t.Helper()
	natsURL = testkit.NATS(t).ClientURL()
	_, js = testkit.JetStream(t, natsURL)
	rc = newReceiver(t, nil)
	url = rc.srv.URL + "/hook"
	n1 = openStreamNode(t, natsURL, "n1")
	n1.deliver(t, url)
	eventually(t, func() bool { return n1.r.d.Delivering() }, "n1 delivers")
	return natsURL, js, rc, url, n1
}

// deliverOld appends old-0..4 on n and waits until they are delivered
// and the cursor stored at 5.
func deliverOld(t *testing.T, js jetstream.JetStream, rc *receiver, url string, n *streamNode) {
	t.Helper()
	n.appendCIDs(t, "old-", 5)
	waitDelivered(rc, 5)
	require.Equal(t, seqCIDs(1, "old-", 5), delivered(rc))
	storedAcked(t, js, url, 5)
}

// waitDelivered waits up to 30 s for rc to hold n events; what it holds
// then is the test's to check. After a cut heals, a publish that got no
// acknowledgment (5 s) is tried again once a leader answers, and the
// delivery follows: 10 s was not always enough in CI.
func waitDelivered(rc *receiver, n int) {
	for deadline := time.Now().Add(30 * time.Second); len(delivered(rc)) < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// logLines are the lines of logs at level whose message holds part.
func logLines(logs *observer.ObservedLogs, level zapcore.Level, part string) int {
	return logs.FilterLevelExact(level).FilterMessageSnippet(part).Len()
}

// The event stream deleted under running nodes (`nats stream rm
// CLISER_EVENTS`): the next publish finds it gone and makes it again, with
// the same configuration, and the webhook delivers the new stream from its
// start, its seqs from 1 again, though the cursor stood past them. Before,
// every publish failed until a node restarted; and once the stream was
// back, the webhook sent nothing until the new stream passed the old
// cursor, with a lag of 0 and no word.
func TestClusterStreamDeletedUnderRunningNodesDeliversTheNewStream(t *testing.T) {
	natsURL, js, rc, url, n1 := deliveringNode(t)
	n2 := openStreamNode(t, natsURL, "n2") // publishes; n1 delivers
	n2.deliver(t, url)
	deliverOld(t, js, rc, url, n2)
	before, err := js.Stream(t.Context(), events.DefaultStreamName)
	require.NoError(t, err)

	require.NoError(t, js.DeleteStream(t.Context(), events.DefaultStreamName))
	n2.appendCIDs(t, "new-", 3)
	waitDelivered(rc, 8)
	require.Equal(t, append(seqCIDs(1, "old-", 5), seqCIDs(1, "new-", 3)...), delivered(rc),
		"the new stream from its start, once")

	after, err := js.Stream(t.Context(), events.DefaultStreamName)
	require.NoError(t, err)
	assert.Equal(t, before.CachedInfo().Config, after.CachedInfo().Config, "made again as it was")
	assert.NotEqual(t, before.CachedInfo().Created, after.CachedInfo().Created)
	for _, n := range []*streamNode{n1, n2} {
		require.NoError(t, n.s.Healthy(), n.name)
		require.EqualValues(t, 3, n.s.Newest(), "%s: the new stream's newest", n.name)
		evs, err := n.s.Read(t.Context(), 0, 10)
		require.NoError(t, err)
		require.Len(t, evs, 3, "%s reads the new stream, not its memory of the old one", n.name)
		assert.Equal(t, 1, logLines(n.logs, zapcore.ErrorLevel, "stream was made anew"), "%s says it found a new stream, once", n.name)
		assert.EqualValues(t, 1, testkit.Gathered(t, n.s.Collectors(), events.MetricRenewed, ""), "%s counts it", n.name)
	}
	assert.Equal(t, 1, logLines(n2.logs, zapcore.ErrorLevel, "made it again"), "the publishing node says it made the stream again, once")
	assert.Zero(t, logLines(n2.logs, zapcore.ErrorLevel, "publishing to the cluster's event stream failed"), "no failure besides")
	assert.EqualValues(t, 1, metricValue(t, n1.r.d, MetricCursorErrs, ""), "the cursor's reset counted")
	assert.Equal(t, 1, logLines(n1.logs, zapcore.ErrorLevel, "cursor"), "and logged once")
	storedAcked(t, js, url, 3)
	assert.Zero(t, metricValue(t, n1.r.d, MetricLag, ""))
}

// The event stream deleted while every node is stopped: the first node to
// start makes it again, and events pass the old cursor's seq before the
// webhook's delivery starts. The cursor names the stream it counts in, so
// delivery sends the new stream from its start; a cursor of seqs alone
// would have skipped the new stream's first 5 events without a word.
func TestClusterStreamMadeAnewWhileNodesStoppedDeliversTheNewStream(t *testing.T) {
	natsURL, js, rc, url, n1 := deliveringNode(t)
	deliverOld(t, js, rc, url, n1)
	n1.stop()

	require.NoError(t, js.DeleteStream(t.Context(), events.DefaultStreamName))
	n2 := openStreamNode(t, natsURL, "n2")
	n2.appendCIDs(t, "new-", 8)
	require.Eventually(t, func() bool { return n2.s.Newest() == 8 }, 10*time.Second, 10*time.Millisecond)
	n2.deliver(t, url)
	waitDelivered(rc, 13)
	require.Equal(t, append(seqCIDs(1, "old-", 5), seqCIDs(1, "new-", 8)...), delivered(rc))
	assert.EqualValues(t, 1, metricValue(t, n2.r.d, MetricCursorErrs, ""), "the cursor's reset counted")
	assert.Equal(t, 1, logLines(n2.logs, zapcore.ErrorLevel, "cursor"), "and logged once")
}

// A node away from NATS while the stream was deleted and made again (it
// missed JetStream's announcement) takes delivery over afterwards: its
// first answer from the stream's leader shows it the new stream, and the
// stored cursor, of the old one, is reset once: one ERROR line, counted
// once, the new stream delivered from its start.
func TestClusterStreamMadeAnewWhileANodeWasAwayIsFoundAtTakeover(t *testing.T) {
	natsURL, js, rc, url, n1 := deliveringNode(t)
	relay := testkit.StartRelay(t, strings.TrimPrefix(natsURL, "nats://"))
	n2 := openStreamNode(t, "nats://"+relay.Addr(), "n2")
	n2.deliver(t, url)
	deliverOld(t, js, rc, url, n1)
	relay.SetCut(true)
	require.Eventually(t, func() bool { return !n2.ncs[0].IsConnected() }, 10*time.Second, 10*time.Millisecond)
	n1.stop() // hands the lease over; n2 can not take it yet

	require.NoError(t, js.DeleteStream(t.Context(), events.DefaultStreamName))
	n3 := openStreamNode(t, natsURL, "n3") // makes it again
	n3.appendCIDs(t, "new-", 3)
	require.Eventually(t, func() bool { return n3.s.Newest() == 3 }, 10*time.Second, 10*time.Millisecond)
	relay.SetCut(false)
	eventually(t, func() bool { return n2.r.d.Delivering() }, "n2 takes delivery over")
	waitDelivered(rc, 8)
	require.Equal(t, append(seqCIDs(1, "old-", 5), seqCIDs(1, "new-", 3)...), delivered(rc))
	assert.EqualValues(t, 1, testkit.Gathered(t, n2.s.Collectors(), events.MetricRenewed, ""), "n2 found the new stream")
	assert.EqualValues(t, 1, metricValue(t, n2.r.d, MetricCursorErrs, ""), "the cursor's reset counted once")
	assert.Equal(t, 1, logLines(n2.logs, zapcore.ErrorLevel, "stored cursor"), "and logged once")
}

// A cursor of an older build names no stream: past the newest seq of the
// stream there now, as its leader says, it is of a stream deleted since,
// and delivery sends the new one from its start (as a single node does
// with a log begun anew), then names the stream in the cursor.
func TestClusterOldCursorPastTheStreamDeliversItFromItsStart(t *testing.T) {
	ns := testkit.NATS(t)
	_, js := testkit.JetStream(t, ns.ClientURL())
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	n := openStreamNode(t, ns.ClientURL(), "n")
	c := n.cursor(t, url)
	require.NoError(t, c.Save(t.Context(), State{Acked: 500}))
	n.appendCIDs(t, "new-", 3)
	require.Eventually(t, func() bool { return n.s.Newest() == 3 }, 10*time.Second, 10*time.Millisecond)
	n.deliver(t, url)
	waitDelivered(rc, 3)
	require.Equal(t, seqCIDs(1, "new-", 3), delivered(rc))
	assert.EqualValues(t, 1, metricValue(t, n.r.d, MetricCursorErrs, ""), "the reset counted")
	storedAcked(t, js, url, 3)
	st, _, err := c.Load(t.Context())
	require.NoError(t, err)
	info, err := js.Stream(t.Context(), events.DefaultStreamName)
	require.NoError(t, err)
	assert.True(t, st.Made.Equal(info.CachedInfo().Created), "the cursor names its stream now")
}

// A cursor ahead of the stream as this node's NATS server has it is no
// stream made anew: that server's copy may not have caught up. Only the
// stream's leader answers for it. Three NATS servers; server s holds the
// cursor (a bucket of one replica) and is cut off from the other two,
// which go on with the stream: a node on their side delivers events 6-10
// and stores its cursor on s. Then s is left alone (its copy of the
// stream at 5, no leader) and a node on s starts delivering: it must
// wait, not take its server's 5 for the stream's newest and deliver the
// stream again from its start; once the stream has a leader again it
// resumes after 10.
func TestClusterCursorAheadOfAStaleStreamCopyIsKept(t *testing.T) {
	nc := testkit.NATSClusterOf3WithCuts(t)
	urls := nc.URLs()
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	_, js := testkit.JetStream(t, strings.Join(urls, ","))
	_, err := NewKVCursor(t.Context(), js, url, 1)
	require.NoError(t, err)
	kvs, err := js.Stream(t.Context(), "KV_"+CursorBucket)
	require.NoError(t, err)
	s := -1
	for i := range 3 {
		if kvs.CachedInfo().Cluster.Leader == nc.Server(i).Name() {
			s = i
		}
	}
	require.GreaterOrEqual(t, s, 0, "the cursor's server")
	u, v := (s+1)%3, (s+2)%3

	a := openStreamNodeR3(t, urls[u], urls[s], "a") // the stream on u's side, the cursor on s
	nc.WaitCurrent(events.DefaultStreamName)
	if nc.StreamLeader(events.DefaultStreamName) == s { // the majority keeps its leader through the cut
		require.NoError(t, nc.StepDownStream(s, events.DefaultStreamName))
		require.Eventually(t, func() bool { l := nc.StreamLeader(events.DefaultStreamName); return l >= 0 && l != s },
			10*time.Second, 10*time.Millisecond)
	}
	b := openStreamNodeR3(t, urls[s], urls[s], "b") // all on s; delivers later
	a.appendCIDs(t, "one-", 5)
	require.Eventually(t, func() bool { return b.s.Newest() == 5 }, 10*time.Second, 10*time.Millisecond, "on s too")
	ac, bc := a.cursor(t, url), b.cursor(t, url)      // at start, as serve makes them
	require.NoError(t, ac.Save(t.Context(), State{})) // the webhook begun before the events

	nc.Isolate(s, true)
	require.Eventually(t, func() bool { return nc.Server(u).JetStreamIsLeader() || nc.Server(v).JetStreamIsLeader() },
		20*time.Second, 10*time.Millisecond, "the majority has a meta leader")
	a.appendCIDs(t, "two-", 5)
	a.deliverWith(t, url, ac)
	waitDelivered(rc, 10)
	require.Equal(t, append(seqCIDs(1, "one-", 5), seqCIDs(6, "two-", 5)...), delivered(rc), "%v", a.logs.All())
	// The receiver records a batch before it answers: halted before the
	// answer, a would rightly store 5 with 6-10 in flight.
	eventually(t, func() bool { return a.r.d.Acked() == 10 }, "a has the receiver's answer")
	require.NoError(t, a.r.halt()) // stores its cursor, 10, on s
	storedAcked(t, b.js, url, 10)

	// s's copy of the stream answers for itself once s holds no leader
	// for it: 5 events, the cursor's 10 ahead of them.
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		st, err := b.js.Stream(ctx, events.DefaultStreamName)
		return err == nil && st.CachedInfo().Cluster.Leader == "" && st.CachedInfo().State.LastSeq == 5
	}, 20*time.Second, 50*time.Millisecond, "s answers from its copy")
	b.deliverWith(t, url, bc)
	require.Never(t, func() bool { return len(delivered(rc)) > 10 }, 1500*time.Millisecond, 10*time.Millisecond,
		"nothing delivered again from s's copy")
	st, _, err := bc.Load(t.Context())
	require.NoError(t, err)
	require.EqualValues(t, 10, st.Acked, "the cursor kept")
	assert.Positive(t, logLines(b.logs, zapcore.WarnLevel, "does not answer"), "b says it waits for the stream")
	assert.False(t, b.r.d.Delivering())

	nc.Isolate(s, false)
	nc.WaitCurrent(events.DefaultStreamName)
	eventually(t, func() bool { return b.r.d.Delivering() }, "b delivers once the stream has a leader")
	b.appendCIDs(t, "three-", 2)
	waitDelivered(rc, 12)
	require.Equal(t, append(append(seqCIDs(1, "one-", 5), seqCIDs(6, "two-", 5)...), seqCIDs(11, "three-", 2)...), delivered(rc))
	assert.Zero(t, metricValue(t, b.r.d, MetricCursorErrs, ""), "no reset")
}

// A NATS server restarted from its store keeps the stream, and the
// stream keeps the time it was made: no node takes it for a new one, and
// delivery goes on from the cursor, each event once. Taken for a new
// stream, every NATS restart would send the receiver the whole log again.
func TestClusterNATSRestartIsNoNewStream(t *testing.T) {
	dir := t.TempDir()
	ns := testkit.NATSAt(t, dir, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	_, js := testkit.JetStream(t, ns.ClientURL())
	rc := newReceiver(t, nil)
	url := rc.srv.URL + "/hook"
	n := openStreamNode(t, ns.ClientURL(), "n")
	n.deliver(t, url)
	eventually(t, func() bool { return n.r.d.Delivering() }, "n delivers")
	deliverOld(t, js, rc, url, n)

	ns.Shutdown()
	ns.WaitForShutdown()
	require.Eventually(t, func() bool { return !n.ncs[0].IsConnected() }, 10*time.Second, 10*time.Millisecond)
	ns = testkit.NATSAt(t, dir, port)
	require.Eventually(t, func() bool { return n.ncs[0].IsConnected() && n.ncs[1].IsConnected() },
		10*time.Second, 10*time.Millisecond, "n back on NATS")
	n.appendCIDs(t, "after-", 3)
	waitDelivered(rc, 8)
	require.Equal(t, append(seqCIDs(1, "old-", 5), seqCIDs(6, "after-", 3)...), delivered(rc),
		"the seqs go on; nothing sent again")
	storedAcked(t, js, url, 8)
	// A node that starts now checks the stored cursor, which names the
	// stream as it was made, against the stream as NATS has it back.
	n.stop()
	n2 := openStreamNode(t, ns.ClientURL(), "n2")
	n2.deliver(t, url)
	eventually(t, func() bool { return n2.r.d.Delivering() }, "n2 delivers")
	n2.appendCIDs(t, "later-", 2)
	waitDelivered(rc, 10)
	require.Equal(t, append(append(seqCIDs(1, "old-", 5), seqCIDs(6, "after-", 3)...), seqCIDs(9, "later-", 2)...),
		delivered(rc), "the seqs go on; nothing sent again")
	for _, x := range []*streamNode{n, n2} {
		assert.Zero(t, logLines(x.logs, zapcore.ErrorLevel, "made anew"), x.name)
	}
	assert.Zero(t, testkit.Gathered(t, n2.s.Collectors(), events.MetricRenewed, ""), "no new stream")
	assert.Zero(t, metricValue(t, n2.r.d, MetricCursorErrs, ""), "the cursor kept")
}
