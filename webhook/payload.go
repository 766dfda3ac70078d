package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cliser/cliser/events"
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

// encodeBatch is the body of a batch. Its timestamp is the newest event's
// time, not the time of sending, so that a request sent again (a retry, a
// restart, another node after a takeover) has the very same body as well
// as the same webhook-id.
func encodeBatch(batch []events.Event) ([]byte, error) {
	p := Payload{Type: PayloadType, Timestamp: batch[len(batch)-1].Time.UTC()}
	p.Data.Events = batch
	return json.Marshal(p)
}

// requestID is the webhook-id of a batch: the same for every sending of
// the same events, so a receiver can tell a repeat.
func requestID(batch []events.Event) string {
	return fmt.Sprintf("msg_%d-%d", batch[0].Seq, batch[len(batch)-1].Seq)
}
