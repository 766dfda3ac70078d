package events

import (
	"context"
	"fmt"
	"time"
)

// Event types (EVENTS.md). Outside consumers match on these strings.
const (
	TypeConnected         = "client.connected"
	TypeDisconnected      = "client.disconnected"
	TypeShutdownSent      = "client.shutdown_sent"
	TypeShutdownAcked     = "client.shutdown_acked"
	TypeCredentialCreated = "credential.created"
	TypeCredentialDeleted = "credential.deleted"
	TypeBanCreated        = "ban.created"
	TypeBanDeleted        = "ban.deleted"
)

// Types lists every event type, in the order EVENTS.md shows them.
var Types = []string{
	TypeConnected, TypeDisconnected, TypeShutdownSent, TypeShutdownAcked,
	TypeCredentialCreated, TypeCredentialDeleted, TypeBanCreated, TypeBanDeleted,
}

// Event is one entry of the fleet's log (EVENTS.md).
type Event struct {
	Seq         uint64     `json:"seq"`
	ID          string     `json:"id"`
	Type        string     `json:"type"`
	Time        time.Time  `json:"time"`
	Node        string     `json:"node,omitempty"`
	CID         string     `json:"cid,omitempty"`
	SID         uint16     `json:"sid,omitempty"`
	CIP         string     `json:"cip,omitempty"`
	CPort       string     `json:"cport,omitempty"`
	Session     string     `json:"session,omitempty"`
	ConnectedAt *time.Time `json:"connected_at,omitempty"`
	Reason      *string    `json:"reason,omitempty"` // client.disconnected, client.shutdown_sent (may be ""), ban events
	Kind        string     `json:"kind,omitempty"`   // ban events
	Value       string     `json:"value,omitempty"`
	By          string     `json:"by,omitempty"`
}

// MarshalJSON is AppendJSON, so that an event read back and sent on (the
// list, the stream, the CLI) is written as the log's writer writes it.
func (ev Event) MarshalJSON() ([]byte, error) { return AppendJSON(nil, &ev) }

// GoneError: the events after the asked seq are no longer all kept; or,
// Ahead, the asked seq is past the newest this log has given (Newest): a
// cursor of another log. Either way the reader re-reads the client list
// and resumes from the newest event (EVENTS.md's 410).
type GoneError struct {
	Oldest uint64
	Ahead  bool
	Newest uint64
}

func (e *GoneError) Error() string {
	if e.Ahead {
		return fmt.Sprintf("the asked seq is past the newest this log has given, %d: the cursor is another log's", e.Newest)
	}
	return fmt.Sprintf("events after the asked seq are no longer kept; the oldest kept is %d", e.Oldest)
}

// Reader is what every reader of the log uses (the JSON API, SSE, history,
// webhook delivery, the dashboard). Safe for concurrent use.
type Reader interface {
	// Read returns up to limit events with Seq > after, oldest first, or a
	// *GoneError when after+1 is below the oldest seq kept.
	Read(ctx context.Context, after uint64, limit int) ([]Event, error)
	// Wait returns nil once an event with Seq > after exists, or ctx's error.
	Wait(ctx context.Context, after uint64) error
	// Newest is the newest seq (0 for an empty log).
	Newest() uint64
}

// Bounded is a log that keeps only its newest events (the retention).
type Bounded interface {
	// Oldest is the oldest seq kept (0 for an empty log).
	Oldest() uint64
}

// Floored is a log that may have begun anew at its start, its seqs going
// on after a floor (a single node's events.seq: floor.go).
type Floored interface {
	// BegunAnew is the seq it went on after, whether that was the old
	// log's newest exactly, and whether it began anew at all.
	BegunAnew() (after uint64, exact, ok bool)
}

var (
	_ Bounded = (*Log)(nil)
	_ Bounded = (*Stream)(nil)
	_ Floored = (*Log)(nil)
)

// Raw is one stored event as its JSON (what AppendJSON wrote), for a
// reader that passes events on without looking inside: webhook delivery.
type Raw struct {
	Seq  uint64
	JSON []byte
}

// Time is the event's time, read from its JSON (the zero time when it
// cannot be read).
func (r Raw) Time() time.Time { return timeOf(r.JSON) }

// ID is the event's id, read from its JSON without decoding the rest
// (empty when it has none): the webhook names each request by its first
// event's id, and sending allocates once a request. Bytes that could
// read otherwise (fieldID.fast) are decoded.
func (r Raw) ID() []byte { return idOf(r.JSON) }

// Type is the event's type, read from its JSON without decoding the rest
// (a reader that filters by type decodes only what matches); ok is false
// when it can not be read that way, and the event must be decoded.
func (r Raw) Type() (typ []byte, ok bool) { return typeOf(r.JSON) }

// Event decodes the event. Errors wrap ErrCorrupt.
func (r Raw) Event() (Event, error) { return decodeEvent(r.Seq, r.JSON) }

// RawReader reads events as stored, without decoding them. Safe for
// concurrent use.
type RawReader interface {
	// ReadRaw is Read's events as their JSON.
	ReadRaw(ctx context.Context, after uint64, limit int) ([]Raw, error)
	// AppendRaw is ReadRaw into the caller's buffers: the events are
	// appended to out, their JSON to buf, and both are returned. A caller
	// that passes back what its last call returned (emptied) allocates
	// nothing once they are large enough. A Raw's JSON points into buf as
	// it was when that Raw was added.
	AppendRaw(ctx context.Context, out []Raw, buf []byte, after uint64, limit int) ([]Raw, []byte, error)
}
