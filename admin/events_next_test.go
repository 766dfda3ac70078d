package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/registry"
)

// countingLog is a real log whose reads are counted, and the seq its
// last wait began after kept: a long-poll or a stream that waits for what
// it has already read reads over and over.
type countingLog struct {
	*events.Log
	reads     atomic.Int64
	waitAfter atomic.Uint64
	waiting   atomic.Int64 // Waits under way
}

func (c *countingLog) Wait(ctx context.Context, after uint64) error {
	c.waitAfter.Store(after)
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	return c.Log.Wait(ctx, after)
}

func (c *countingLog) Read(ctx context.Context, after uint64, limit int) ([]events.Event, error) {
	c.reads.Add(1)
	return c.Log.Read(ctx, after, limit)
}

func (c *countingLog) AppendRaw(ctx context.Context, out []events.Raw, buf []byte, after uint64, limit int) ([]events.Raw, []byte, error) {
	c.reads.Add(1)
	return c.Log.AppendRaw(ctx, out, buf, after, limit)
}

func (c *countingLog) ReadCID(ctx context.Context, cid string, after uint64, limit int) ([]events.Event, error) {
	c.reads.Add(1)
	return c.Log.ReadCID(ctx, cid, after, limit)
}

// eventsAPI serves a fresh log on a real admin listener; it returns the
// log and the listener's base URL.
func eventsAPI(t *testing.T) (*countingLog, string) {
	t.Helper()
	l, hs := eventsListener(t)
	return l, "http://" + hs.Addr()
}

// eventsListener is eventsAPI's log and listener, which the test may
// shut down itself.
func eventsListener(t *testing.T) (*countingLog, *admin.Server) {
	t.Helper()
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	log := &countingLog{Log: l}
	hs, err := admin.New(registry.New(), admin.WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx), "a request held the stop")
		require.NoError(t, l.Close())
	})
	return log, hs
}

// appendEvents appends one event of each type given (of client cid) and
// waits until the log holds them.
func appendEvents(t *testing.T, l *countingLog, cid string, types ...string) {
	t.Helper()
	want := l.Newest() + uint64(len(types))
	for _, typ := range types {
		require.True(t, l.Append(events.Event{Type: typ, CID: cid, Session: "s-" + cid}))
	}
	waitNewest(t, l, want)
}

func waitNewest(t *testing.T, l *countingLog, want uint64) {
	t.Helper()
	require.Eventually(t, func() bool { return l.Newest() >= want }, 5*time.Second, time.Millisecond,
		"the log never held %d events", want)
}

type eventsAnswer struct {
	Events []events.Event `json:"events"`
	Next   *uint64        `json:"next"`
}

func (a eventsAnswer) seqs() []uint64 {
	out := []uint64{}
	for _, ev := range a.Events {
		out = append(out, ev.Seq)
	}
	return out
}

func getEvents(t *testing.T, base, query string) eventsAnswer {
	t.Helper()
	r := send(t, base, request{path: "/v1/events?" + query})
	require.Equal(t, http.StatusOK, r.status, "%s: %s", query, r.body)
	var a eventsAnswer
	r.decode(t, &a)
	require.NotNil(t, a.Next, "%s: no next: %s", query, r.body)
	return a
}

// The brief's log: 22 client events, the shutdown sent and acked at 13
// and 14, client b's at 5, 6 and 21.
func seedOf22(t *testing.T, l *countingLog) {
	t.Helper()
	add := func(cid string, types ...string) {
		for _, typ := range types {
			require.True(t, l.Append(events.Event{Type: typ, CID: cid, Session: "s-" + cid}))
		}
	}
	for i := range 6 {
		cid := fmt.Sprintf("c%d", i)
		if i == 2 {
			cid = "b"
		}
		add(cid, events.TypeConnected, events.TypeDisconnected) // 1-12
	}
	add("a", events.TypeShutdownSent, events.TypeShutdownAcked) // 13, 14
	for range 3 {
		add("z", events.TypeConnected, events.TypeDisconnected) // 15-20
	}
	add("b", events.TypeConnected, events.TypeDisconnected) // 21, 22
	waitNewest(t, l, 22)
	require.Equal(t, uint64(22), l.Newest())
}

// next is the last event's seq, also when a filter matched fewer than
// limit; on an empty answer it is the after asked, filter or not
// (EVENTS.md). It was the newest seq read: 22 for [13, 14].
func TestEventsNextIsTheLastEventAnswered(t *testing.T) {
	l, base := eventsAPI(t)
	seedOf22(t, l)

	for _, c := range []struct {
		query string
		seqs  []uint64
		next  uint64
	}{
		{"after=0&type=client.shutdown_sent,client.shutdown_acked", []uint64{13, 14}, 14},
		{"after=0&type=client.shutdown_sent,client.shutdown_acked&limit=1", []uint64{13}, 13},
		{"after=13&type=client.shutdown_sent,client.shutdown_acked", []uint64{14}, 14},
		{"after=14&type=client.shutdown_sent,client.shutdown_acked", []uint64{}, 14},
		{"after=3&type=ban.created", []uint64{}, 3},
		{"after=0&cid=b", []uint64{5, 6, 21, 22}, 22},
		{"after=0&cid=b&type=client.connected", []uint64{5, 21}, 21},
		{"after=6&cid=b&type=client.disconnected", []uint64{22}, 22},
		{"after=22&cid=b", []uint64{}, 22},
		{"after=7&cid=a&type=client.connected", []uint64{}, 7},
		{"after=0&cid=nobody", []uint64{}, 0},
		{"after=20", []uint64{21, 22}, 22},
		{"after=22", []uint64{}, 22},
		// Without after: the newest matching, next the last one's seq.
		{"type=client.shutdown_sent", []uint64{13}, 13},
		{"cid=b&limit=2&type=client.connected", []uint64{5, 21}, 21},
		{"cid=a", []uint64{13, 14}, 14},
		{"type=ban.created", []uint64{}, 22},
		{"limit=2", []uint64{21, 22}, 22},
	} {
		a := getEvents(t, base, c.query)
		assert.Equal(t, c.seqs, a.seqs(), c.query)
		assert.Equal(t, c.next, *a.Next, c.query)
	}

	// A long-poll that waits out its time answers the after asked too.
	start := time.Now()
	a := getEvents(t, base, "after=9&type=client.shutdown_acked&cid=b&wait=200ms")
	assert.Empty(t, a.Events)
	assert.Equal(t, uint64(9), *a.Next)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "it waited")
}

// A filtered long-poll given its after back waits for the events it has
// not read yet: other events wake it, it reads them once and waits on, and
// it answers the first match. Waiting after the after asked (or, through
// the index by client, after the client's last event) returns at once and
// reads the log over and over until the wait is up. A filtered stream
// likewise.
func TestEventsFilteredLongPollWakesOnAMatchWithoutSpinning(t *testing.T) {
	for _, c := range []struct {
		q      string
		stream bool // GET /v1/events/stream with the same filter and after
	}{
		{"after=14&wait=30s&type=client.shutdown_acked", false},     // 15-22 match nothing
		{"after=22&wait=30s&cid=b&type=client.disconnected", false}, // b's last event is 22
		{"after=14&wait=30s&type=client.shutdown_acked", true},
		{"after=22&wait=30s&cid=b&type=client.disconnected", true},
	} {
		q, stream := c.q, c.stream
		t.Run(fmt.Sprintf("%s stream=%v", q, stream), func(t *testing.T) {
			l, base := eventsAPI(t)
			seedOf22(t, l)
			got := make(chan eventsAnswer, 1)
			go func() {
				defer close(got)
				if stream {
					got <- firstStreamed(base + "/v1/events/stream?" + strings.Replace(q, "wait=30s&", "", 1))
					return
				}
				var a eventsAnswer
				r, err := http.Get(base + "/v1/events?" + q)
				if err == nil {
					defer r.Body.Close()
					err = json.NewDecoder(r.Body).Decode(&a)
				}
				if err == nil {
					got <- a
				}
			}()
			// The poll's first read, then it waits.
			require.Eventually(t, func() bool { return l.reads.Load() > 0 }, 5*time.Second, time.Millisecond)
			before := l.reads.Load()
			for range 5 {
				appendEvents(t, l, "other", events.TypeConnected) // 23-27: wake it, match nothing
			}
			// It reads them (a wake is a read or two) and waits after
			// the newest, 27.
			require.Eventually(t, func() bool { return l.waitAfter.Load() == 27 }, 5*time.Second, time.Millisecond,
				"the poll never waited after what it had read")
			select {
			case a := <-got:
				t.Fatalf("answered before a match: %+v", a)
			default:
			}
			assert.LessOrEqual(t, l.reads.Load()-before, int64(20), "the poll read the log over and over")

			appendEvents(t, l, "b", events.TypeShutdownAcked, events.TypeDisconnected) // 28, 29
			select {
			case a, ok := <-got:
				require.True(t, ok, "the long-poll failed")
				want := uint64(28)
				if strings.Contains(q, "cid=b") {
					want = 29
				}
				assert.Equal(t, []uint64{want}, a.seqs())
				assert.Equal(t, want, *a.Next)
			case <-time.After(10 * time.Second):
				t.Fatal("the long-poll did not answer the matching event")
			}
		})
	}
}

// firstStreamed opens an event stream and returns its first event, as an
// answer of one (next its seq); none when the stream fails or ends first.
func firstStreamed(url string) eventsAnswer {
	var a eventsAnswer
	r, err := http.Get(url)
	if err != nil {
		return a
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var ev events.Event
			if json.Unmarshal([]byte(data), &ev) == nil {
				a.Events, a.Next = []events.Event{ev}, &ev.Seq
			}
			return a
		}
	}
	return a
}

// BenchmarkEventsTypeFilterMatchingNothing is one GET /v1/events?after=0
// whose type matches none of 200,000 events (the API without HTTP): it
// reads the whole log, as a filtered consumer given its after back does
// at each request.
func BenchmarkEventsTypeFilterMatchingNothing(b *testing.B) {
	l, err := events.Open(filepath.Join(b.TempDir(), events.FileName))
	require.NoError(b, err)
	defer l.Close()
	const n = 200_000
	for i := range n {
		ev := events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("bench-%05d", i%19000), SID: uint16(i%65535 + 1),
			CIP: "127.0.0.1", CPort: "40000", Session: "5f0c2a9e3b1d4c77-2n"}
		require.Eventually(b, func() bool { return l.Append(ev) }, 10*time.Second, time.Millisecond, "the queue stayed full")
	}
	require.Eventually(b, func() bool { return l.Newest() == n }, time.Minute, 10*time.Millisecond)
	api := admin.New(registry.New(), admin.WithEvents(l))
	q := admin.EventsQuery{HasAfter: true, Types: map[string]bool{events.TypeBanCreated: true}}
	for b.Loop() {
		r, err := api.Events(context.Background(), q)
		require.NoError(b, err)
		require.Empty(b, r.Events)
	}
}

// busyLog is a log on which an event has always just come, and never the
// one asked for: each read finds one more, so a wait for the next never
// has to wait.
type busyLog struct{ newest atomic.Uint64 }

func (b *busyLog) Read(_ context.Context, after uint64, _ int) ([]events.Event, error) {
	seq := b.newest.Add(1)
	return []events.Event{{Seq: seq, Type: events.TypeConnected, CID: "busy"}}, nil
}

func (b *busyLog) Wait(ctx context.Context, after uint64) error {
	if b.newest.Load()+1 > after { // the next event is there already
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (b *busyLog) Newest() uint64 { return b.newest.Load() + 1 }

// A filtered request that matches nothing answers, and a long-poll when
// its wait is up, even while events that do not match keep coming faster
// than it reads them: reading on to the newest, or waiting for the next,
// would then never end.
func TestEventsFilteredReadEndsWhileOthersKeepComing(t *testing.T) {
	hs, err := admin.New(registry.New(), admin.WithEvents(&busyLog{})).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, hs.Shutdown(ctx))
	}()
	for _, q := range []string{"after=0&type=ban.created", "after=0&type=ban.created&wait=200ms"} {
		start := time.Now()
		got := getAsync("http://" + hs.Addr() + "/v1/events?" + q)
		select {
		case p := <-got:
			require.NoError(t, p.err, q)
			require.Equal(t, http.StatusOK, p.status, "%s: %s", q, p.body)
			var a eventsAnswer
			require.NoError(t, json.Unmarshal(p.body, &a), "%s: %s", q, p.body)
			assert.Empty(t, a.Events, q)
			require.NotNil(t, a.Next, q)
			assert.Equal(t, uint64(0), *a.Next, q)
			assert.Less(t, time.Since(start), 3*time.Second, q)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no answer after 10 s of other events", q)
		}
	}
}

// A long-poll without after waits too, when nothing (that matches) is
// there yet: on an empty log, or with a filter that no event matches, it
// answers at the first new match, or empty with next the newest seq when
// its wait is up. It used to answer at once, empty, its wait ignored.
func TestEventsLongPollWithoutAfterWaits(t *testing.T) {
	for _, c := range []struct {
		name, filter string
		seed         bool   // the log holds seedOf22's events first
		newest       uint64 // next when waited out
	}{
		{"empty log", "", false, 0},
		{"no type match", "&type=ban.created", true, 22},
		{"no cid match", "&cid=x", true, 22},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, base := eventsAPI(t)
			if c.seed {
				seedOf22(t, l)
			}
			start := time.Now()
			a := getEvents(t, base, "wait=300ms"+c.filter)
			assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "it did not wait")
			assert.Empty(t, a.Events)
			assert.Equal(t, c.newest, *a.Next)

			// The first match that comes during the wait is the answer.
			got := getAsync(base + "/v1/events?wait=30s" + c.filter)
			require.Eventually(t, func() bool { return l.waiting.Load() == 1 }, 5*time.Second, time.Millisecond,
				"the long-poll never waited")
			want := c.newest + 1
			if c.filter != "" {
				appendEvents(t, l, "other", events.TypeDisconnected) // matches neither filter
				want++
			}
			appendEvents(t, l, "x", events.TypeBanCreated)
			p := await(t, got, c.name)
			require.NoError(t, p.err)
			require.Equal(t, http.StatusOK, p.status, "%s", p.body)
			var b eventsAnswer
			require.NoError(t, json.Unmarshal(p.body, &b))
			assert.Equal(t, []uint64{want}, b.seqs(), "%s", p.body)
			require.NotNil(t, b.Next, "%s", p.body)
			assert.Equal(t, want, *b.Next)
		})
	}
}
