package admin

import (
	"time"

	"github.com/cliser/cliser/registry"
)

// ClientRecord is a client record as the API shows it (INTERFACE.md):
//
//	{"sid": 17, "cid": "pos-0042", "cip": "127.0.0.1", "cport": "53122",
//	 "cstatus": true, "connected_at": "2026-11-25T19:01:58Z",
//	 "last_seen": "2026-11-25T19:02:28Z", "disconnected_at": null, "reason": ""}
//
// Times are RFC 3339 in UTC, to the second. DisconnectedAt is null while
// connected; Reason is the protocol.Reason text, "" while connected.
//
// A time not known is null: in cluster mode, another node's client in a
// stale answer (HeaderStale), whose sid is 0 and address empty too.
type ClientRecord struct {
	SID            uint16  `json:"sid"`
	CID            string  `json:"cid"`
	CIP            string  `json:"cip"`
	CPort          string  `json:"cport"`
	CStatus        bool    `json:"cstatus"`
	ConnectedAt    *string `json:"connected_at"`
	LastSeen       *string `json:"last_seen"`
	DisconnectedAt *string `json:"disconnected_at"`
	Reason         string  `json:"reason"`
	// Node is the cluster node that holds or last held the client; absent
	// in single-node mode, so that output stays as INTERFACE.md shows it.
	Node string `json:"node,omitempty"`
	// Stale: Client read it from an answer marked HeaderStale. Not in
	// the JSON, where the header says it.
	Stale bool `json:"-"`
}

// TimeFormat is the API's time format: RFC 3339, UTC, whole seconds.
const TimeFormat = time.RFC3339

// recordOf converts a registry record to its API form.
func recordOf(r registry.Record) ClientRecord {
	out := ClientRecord{
		SID:         r.SID,
		CID:         r.CID,
		CIP:         r.CIP,
		CPort:       r.CPort,
		CStatus:     r.CStatus,
		ConnectedAt: knownTime(r.ConnectedAt),
		LastSeen:    knownTime(r.LastSeen),
		Reason:      r.Reason.String(),
		Node:        r.Node,
	}
	if !r.CStatus {
		out.DisconnectedAt = knownTime(r.DisconnectedAt)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// formatDeadline is a time something lasts until (a ban's end, a grace's),
// rounded up to the whole second: cut down, it read up to a second before
// the end, and a tool that retried at it was still refused.
func formatDeadline(t time.Time) string {
	if up := t.Truncate(time.Second); !up.Equal(t) {
		t = up.Add(time.Second)
	}
	return formatTime(t)
}

// knownTime is t in the API's format, nil when t is zero (not known).
func knownTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// ListResponse is the answer of GET /v1/clients. Next is the cursor of the
// following page, "" on the last one.
type ListResponse struct {
	Clients []ClientRecord `json:"clients"`
	Next    string         `json:"next"`
	// Stale: as ClientRecord's.
	Stale bool `json:"-"`
}

// CommandResponse is the 202 answer of a command to one client: the
// command was queued on the client's connection.
type CommandResponse struct {
	CID     string `json:"cid"`
	Command string `json:"command"` // "shutdown" or "kick"
}

// ShutdownAllResponse is the 202 answer of POST /v1/shutdown: how many
// connected clients the 130 order was queued for.
type ShutdownAllResponse struct {
	Sent int `json:"sent"`
	// UnconfirmedNodes are the cluster's nodes that did not confirm the
	// order in time: their clients may not have been told (absent when
	// every node confirmed).
	UnconfirmedNodes []string `json:"unconfirmed_nodes,omitempty"`
}

// ShutdownRequest is the optional body of the shutdown commands.
type ShutdownRequest struct {
	Reason string `json:"reason"`
}

// ErrorResponse is every error's body.
type ErrorResponse struct {
	Error string `json:"error"`
}

// HealthResponse is GET /v1/health. Ready is /readyz's 200; Error says
// why not (starting, draining, a store that cannot be written); Notes
// are trouble that leaves the server ready, by what has it ("events",
// "webhook", "log", "identity", "registry"), as /readyz's body lists them; each
// text names its part too ("webhook: …").
type HealthResponse struct {
	Ready bool              `json:"ready"`
	Error string            `json:"error,omitempty"`
	Notes map[string]string `json:"notes,omitempty"`
}
