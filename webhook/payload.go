package webhook

import (
	"slices"
	"strconv"
	"time"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/jsonenc"
)

// PayloadType is the body's "type" (EVENTS.md).
const PayloadType = "cliser.events"

// Payload is the JSON body of every request (EVENTS.md):
// {"type": "cliser.events", "timestamp": "...Z", "data": {"events": [...]}}.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		Events []events.Event `json:"events"`
	} `json:"data"`
}

// encodeBatch is the body of a batch, put together from the events'
// stored JSON: what json.Marshal(Payload) gives (its timestamp to the
// microsecond, as the events' times), without decoding and encoding
// again every event. Its timestamp is the last event's time (the
// highest seq's, not always the latest time), not the time of sending, so that a request sent again (a retry, a
// restart, another node after a takeover) has the very same body as well
// as the same webhook-id.
//
// It appends to body, which it grows once to the batch's size.
func encodeBatch(body []byte, batch []events.Raw) []byte {
	n := 96
	for _, e := range batch {
		n += len(e.JSON) + 1
	}
	body = slices.Grow(body, n)
	body = append(body, `{"type":"`+PayloadType+`","timestamp":`...)
	// The time came from our own encoder: always in range.
	body, _ = jsonenc.AppendTime(body, batch[len(batch)-1].Time(), jsonenc.Micros)
	body = append(body, `,"data":{"events":[`...)
	for i, e := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e.JSON...)
	}
	return append(body, "]}}"...)
}

// requestID is the webhook-id of a batch, msg_<first seq>-<last
// seq>_<first event's id>: the same for every sending of the same events
// (a retry, a restart, another node), so a receiver can tell a repeat. The
// seqs alone repeat: every new log counts from 1, so two deployments
// sharing a receiver, or one whose log was reset, sent the same ids for
// other events, and a receiver that drops repeats by webhook-id (as
// Standard Webhooks has it unique) lost them. An event's id is unique
// across processes and nodes (events/ids.go).
func requestID(batch []events.Raw) string {
	var b [128]byte
	id := strconv.AppendUint(append(b[:0], "msg_"...), batch[0].Seq, 10)
	id = strconv.AppendUint(append(id, '-'), batch[len(batch)-1].Seq, 10)
	if ev := batch[0].ID(); headerSafe(ev) {
		id = append(append(id, '_'), ev...)
	}
	return string(id)
}

// headerSafe: s may go into a header as it is (an id from a log edited by
// hand may not): 1 to 64 ASCII letters, digits, '-' and '_'.
func headerSafe(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
