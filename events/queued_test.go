package events

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestQueuedEventIsSmall: the queue's blocks are what a burst makes anew
// after the idle writer let go of them; at an Event's 216 bytes they were
// ~150 B a handshake of a burst's garbage (issue 17). A field added to
// queued for every event fails here: put it behind rare.
func TestQueuedEventIsSmall(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(queued{}), uintptr(120))
	require.LessOrEqual(t, blockBytes, 16<<10, "a block within the 16 KiB size class")
}

// TestQueuedKeepsTheEvent: every field comes back as it went in, so the
// JSON the writers encode is the Event's byte for byte; a time in another
// zone comes back in UTC, which the encoding writes anyway.
func TestQueuedKeepsTheEvent(t *testing.T) {
	reason, empty := "keepalive timeout", ""
	at := time.Date(2026, 11, 30, 9, 58, 10, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	for _, ev := range []Event{
		{Type: TypeConnected, Time: time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC), Node: "n1", CID: "pos-0042", SID: 17,
			CIP: "203.0.113.9", CPort: "53122", Session: "s-1"},
		{Type: TypeDisconnected, Time: time.Date(2026, 11, 30, 10, 0, 0, 1, paris), CID: "pos-0042", ConnectedAt: &at, Reason: &reason},
		{Type: TypeShutdownSent, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Nanosecond), CID: "c", Reason: &empty},
		{Type: TypeBanCreated, Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), Kind: "ip", Value: "203.0.113.0/24", By: "op", Reason: &reason},
		{Type: "something.else", Time: time.Unix(0, 0).UTC(), ID: "mine-1", Seq: 7},
		// Each of rare's fields alone, on a type of Types: each makes the
		// rare part (a mutation audit: leaving a seq, a kind, a value or a
		// by out of that test passed every test).
		{Type: TypeConnected, Time: at, CID: "c", Seq: 9},
		{Type: TypeBanDeleted, Time: at, Kind: "ip"},
		{Type: TypeBanDeleted, Time: at, Value: "203.0.113.9"},
		{Type: TypeBanDeleted, Time: at, By: "op"},
		{},
	} {
		q := queuedOf(&ev)
		got := q.event()
		want, err := AppendJSON(nil, &ev)
		require.NoError(t, err)
		js, err := AppendJSON(nil, &got)
		require.NoError(t, err)
		require.Equal(t, string(want), string(js))
		require.True(t, got.Time.Equal(ev.Time), "%v against %v", got.Time, ev.Time)
		require.Equal(t, time.UTC, got.Time.Location())
		got.Time = ev.Time
		require.Equal(t, ev, got)
	}
}

// TestPushOfTheLoopsEventsAllocatesNothing: the loop's events (a
// disconnect with its reason and connected_at, a shutdown's text) are
// queued without a rare part.
func TestPushOfTheLoopsEventsAllocatesNothing(t *testing.T) {
	reason, at := "keepalive timeout", time.Now().UTC()
	ev := Event{Type: TypeDisconnected, Time: at, Node: "n1", CID: "c", SID: 3, CIP: "127.0.0.1", CPort: "40000",
		Session: "s", ConnectedAt: &at, Reason: &reason}
	require.Zero(t, pushMallocs(ev), "allocations in %d pushes", 2*blockSize)
}
