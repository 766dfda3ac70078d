package webhook

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// The body put together from stored JSON is json.Marshal's of the Payload,
// its timestamp to the microsecond in six digits, as the events' times.
func TestEncodeBatchIsPayload(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 120000789, time.UTC)
	why := "a <b> & \"c\""
	evs := []events.Event{
		{Seq: 7, ID: "evt-a", Type: events.TypeConnected, Time: at, CID: "x", SID: 3},
		{Seq: 8, ID: "evt-b", Type: events.TypeDisconnected, Time: at.Add(time.Second), CID: "x", ConnectedAt: &at, Reason: &why},
	}
	raws := make([]events.Raw, len(evs))
	for i := range evs {
		js, err := events.AppendJSON(nil, &evs[i])
		require.NoError(t, err)
		raws[i] = events.Raw{Seq: evs[i].Seq, JSON: js}
	}
	p := Payload{Type: PayloadType, Timestamp: evs[1].Time}
	p.Data.Events = evs
	want, err := json.Marshal(p)
	require.NoError(t, err)
	want = bytes.Replace(want, []byte(`"timestamp":"2026-11-30T10:00:01.120000789Z"`),
		[]byte(`"timestamp":"2026-11-30T10:00:01.120000Z"`), 1)
	require.Contains(t, string(want), `"timestamp":"2026-11-30T10:00:01.120000Z"`)
	require.Equal(t, string(want), string(encodeBatch(nil, raws)))
	// Into the buffer of an earlier body, as the deliverer reuses it.
	reused := append(make([]byte, 0, 16), "an earlier body"...)
	require.Equal(t, string(want), string(encodeBatch(reused[:0], raws)))
	require.Equal(t, "msg_7-8_evt-a", requestID(raws))
}

// TestRequestIDIsUniqueAcrossLogs: two logs (two deployments sharing a
// receiver, or one log reset) number their events alike; the first
// event's id tells their batches apart. An id unfit for a header (a log
// edited by hand) is left out rather than sent.
func TestRequestIDIsUniqueAcrossLogs(t *testing.T) {
	batch := func(id string) []events.Raw {
		js, err := events.AppendJSON(nil, &events.Event{Seq: 1, ID: id, Type: events.TypeConnected, Time: time.Now(), CID: "x"})
		require.NoError(t, err)
		return []events.Raw{{Seq: 1, JSON: js}, {Seq: 2, JSON: js}}
	}
	a, b := requestID(batch("evt-ad30341166383733-1")), requestID(batch("evt-0f1e2d3c4b5a6978-1"))
	require.Equal(t, "msg_1-2_evt-ad30341166383733-1", a)
	require.NotEqual(t, a, b)
	for _, unfit := range []string{"", "evt-1\r\nX-Injected: 1", "evt 1", "évt-1", strings.Repeat("e", 65)} {
		require.Equal(t, "msg_1-2", requestID(batch(unfit)), "%q", unfit)
	}
}
