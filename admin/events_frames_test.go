package admin

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// streamEvents reads the stream at url until the event of seq last, and
// returns each event's data line by seq and its event: line.
func streamEvents(t *testing.T, url string, last uint64) (data map[uint64]string, types map[uint64]string) {
	t.Helper()
	data, types = map[uint64]string{}, map[uint64]string{}
	lines := streamLines(t, url)
	timeout := time.After(20 * time.Second)
	var seq uint64
	for {
		select {
		case l, ok := <-lines:
			require.True(t, ok, "the stream ended at seq %d", seq)
			switch {
			case strings.HasPrefix(l, "id: "):
				_, err := fmt.Sscan(l[4:], &seq)
				require.NoError(t, err)
			case strings.HasPrefix(l, "event: "):
				types[seq] = l[7:]
			case strings.HasPrefix(l, "data: "):
				data[seq] = l[6:]
				if seq >= last {
					return data, types
				}
			}
		case <-timeout:
			t.Fatalf("the stream reached seq %d of %d in 20 s", seq, last)
		}
	}
}

// listEvents is every event GET /v1/events answers from after 0, each as
// the JSON the list wrote, by seq.
func listEvents(t *testing.T, base string) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	for after := uint64(0); ; {
		code, body := testkit.HTTPGet(t, fmt.Sprintf("%s/v1/events?after=%d&limit=1000", base, after))
		require.Equal(t, http.StatusOK, code, body)
		var page struct {
			Events []json.RawMessage `json:"events"`
			Next   uint64            `json:"next"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &page))
		if len(page.Events) == 0 {
			return out
		}
		for _, raw := range page.Events {
			var ev struct{ Seq uint64 }
			require.NoError(t, json.Unmarshal(raw, &ev))
			out[ev.Seq] = string(raw)
		}
		after = page.Next
	}
}

// The stream sends each event as the list does, to the byte, now that it
// sends what the log stored rather than decoding and encoding it again:
// every type, the fields a disconnect adds, free text that JSON escapes.
func TestStreamSendsEachEventAsTheListDoes(t *testing.T) {
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	reason := "kicked \"<by>\" & caf\u00e9\t\u2028"
	var lastBan uint64
	for i := range 1500 {
		ev := events.Event{Type: events.Types[i%len(events.Types)], Time: at.Add(time.Duration(i) * time.Millisecond),
			Node: "n1", CID: fmt.Sprintf("pos-%04d", i%37), SID: uint16(i + 1), CIP: "203.0.113.9", CPort: "53122", Session: "s"}
		if ev.Type == events.TypeDisconnected || ev.Type == events.TypeBanCreated {
			ev.ConnectedAt, ev.Reason, ev.Kind, ev.Value, ev.By = &at, &reason, "cid", "x<y>", "ops"
		}
		if ev.Type == events.TypeBanCreated {
			lastBan = uint64(i + 1)
		}
		require.True(t, log.Append(ev))
	}
	require.NoError(t, log.Wait(testkit.Context(t, 10*time.Second), 1499))
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) }()
	base := "http://" + hs.Addr()

	listed := listEvents(t, base)
	require.Equal(t, 1500, len(listed))
	data, types := streamEvents(t, base+"/v1/events/stream?after=0", 1500)
	require.Equal(t, 1500, len(data))
	for seq, js := range listed {
		require.Equal(t, js, data[seq], "seq %d", seq)
		var ev events.Event
		require.NoError(t, json.Unmarshal([]byte(js), &ev))
		require.Equal(t, ev.Type, types[seq], "seq %d", seq)
	}

	// A type filter sends those events only, as the list does too.
	bans, _ := streamEvents(t, base+"/v1/events/stream?after=0&type="+events.TypeBanCreated, lastBan)
	for seq, js := range bans {
		assert.Contains(t, js, `"type":"ban.created"`)
		assert.Equal(t, listed[seq], js)
	}
	assert.Equal(t, 1500/len(events.Types), len(bans))
}

// Events an earlier build stored (times to the nanosecond, trailing zeros
// cut; a CR in its spaces) go out in EVENTS.md's form, six digits
// and one line, as the list writes them: they are decoded, not sent as
// stored.
func TestStreamSendsAnEarlierBuildsEventsInTodaysForm(t *testing.T) {
	path := filepath.Join(t.TempDir(), events.FileName)
	stored := []string{
		`{"seq":1,"id":"evt-old-1","type":"client.connected","time":"2026-11-30T10:00:00.123456789Z","cid":"a"}`,
		`{"seq":2,"id":"evt-old-2","type":"client.disconnected","time":"2026-11-30T10:00:01.123456Z","cid":"a","connected_at":"2026-11-30T10:00:00.5Z","reason":""}`,
		"{\"seq\":3,\"id\":\"evt-old-3\",\r \"type\":\"client.connected\",\"time\":\"2026-11-30T10:00:02.000000Z\",\"cid\":\"b\"}",
		`{"seq":4,"id":"evt-old-4","type":"client.connected","time":"2026-11-30T10:00:03Z","cid":"c"}`,
		`{"seq":5,"id":"evt-new-5","type":"client.connected","time":"2026-11-30T10:00:04.000001Z","cid":"d"}`,
	}
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		evs, err := tx.CreateBucket([]byte("events"))
		require.NoError(t, err)
		for i, js := range stored {
			require.NoError(t, evs.Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), []byte(js)))
		}
		meta, err := tx.CreateBucket([]byte("meta"))
		require.NoError(t, err)
		return meta.Put([]byte("newest"), binary.BigEndian.AppendUint64(nil, uint64(len(stored))))
	}))
	require.NoError(t, db.Close())
	log, err := events.Open(path)
	require.NoError(t, err)
	defer log.Close()
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) }()
	base := "http://" + hs.Addr()

	data, _ := streamEvents(t, base+"/v1/events/stream?after=0", uint64(len(stored)))
	assert.Equal(t, listEvents(t, base), data)
	assert.Contains(t, data[1], `"time":"2026-11-30T10:00:00.123456Z"`)
	assert.Contains(t, data[2], `"connected_at":"2026-11-30T10:00:00.500000Z"`)
	assert.Contains(t, data[3], `"type":"client.connected"`)
	assert.Contains(t, data[4], `"time":"2026-11-30T10:00:03.000000Z"`)
	assert.Equal(t, stored[4], data[5], "today's form goes as stored")
}

// lanedLog is a real log that counts the reads in flight at once, and
// the most there were.
type lanedLog struct {
	*events.Log
	now, most atomic.Int64
}

func (l *lanedLog) AppendRaw(ctx context.Context, out []events.Raw, buf []byte, after uint64, limit int) ([]events.Raw, []byte, error) {
	n := l.now.Add(1)
	defer l.now.Add(-1)
	for m := l.most.Load(); n > m && !l.most.CompareAndSwap(m, n); m = l.most.Load() {
	}
	return l.Log.AppendRaw(ctx, out, buf, after, limit)
}

// Streams catching up on the log read and frame their pages one at a
// time: together they take one core, not the event loops' too.
func TestStreamsCatchingUpReadOneAtATime(t *testing.T) {
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer l.Close()
	const n = 20_000
	for i := range n {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d", i%100)}))
	}
	require.NoError(t, l.Wait(testkit.Context(t, 10*time.Second), n-1))
	log := &lanedLog{Log: l}
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) }()

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := countStream("http://"+hs.Addr()+"/v1/events/stream?after=0", n)
			assert.NoError(t, err)
			assert.Equal(t, n, got)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(1), log.most.Load(), "reads in flight at once")
}

// countStream counts the events of the stream at url up to seq last.
func countStream(url string, last uint64) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	n := 0
	for sc.Scan() {
		var seq uint64
		if _, err := fmt.Sscanf(sc.Text(), "id: %d", &seq); err == nil {
			n++
			if seq >= last {
				return n, nil
			}
		}
	}
	return n, fmt.Errorf("the stream ended after %d events: %v", n, sc.Err())
}
