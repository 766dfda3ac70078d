package identity

import "time"

// The event types the service reports (EVENTS.md).
const (
	EventCredentialCreated = "credential.created"
	EventCredentialDeleted = "credential.deleted"
	EventBanCreated        = "ban.created"
	EventBanDeleted        = "ban.deleted"
)

// Event is one change the service made, for the event log. It never holds a
// secret. For credential events only CID is set; for ban events Kind, Value,
// By and Reason (and CID too when Kind is "cid").
type Event struct {
	Type   string
	Time   time.Time
	CID    string
	Kind   string
	Value  string
	By     string
	Reason string
}

func banEvent(typ string, b Ban, now time.Time) Event {
	e := Event{Type: typ, Time: now, Kind: b.Kind, Value: b.Value, By: b.By, Reason: b.Reason}
	if b.Kind == KindCID {
		e.CID = b.Value
	}
	return e
}
