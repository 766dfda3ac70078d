package boltstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// recordVersion is the encoding version written into every record.
//
// Why JSON with a version field, and not a hand-packed binary layout:
//   - The store is written behind the hot path, in batches, every flush
//     interval; encoding cost there is not what bounds the server (see
//     BenchmarkEncode), so readability wins: `bbolt get registry.db
//     clients <cid>` shows an operator the record as the admin API does.
//   - Field names make the format additive: a newer build may add fields
//     that this one ignores, without a version bump.
//   - The reason is stored as its text ("keepalive timeout"), not the enum
//     number, so reordering protocol.Reason can never relabel old records.
//   - "v" is for changes that are not additive; a record with a version
//     this build does not know fails Load with ErrVersion instead of being
//     misread (a downgrade must not silently drop or mangle clients).
//
// It is compact where it is free: zero fields are omitted, the key (cid) is
// repeated in the value so a value is self-describing and a key/value
// mismatch is detected as corruption.
const recordVersion = 1

// diskRecord is the stored form of a registry.Record. Names follow the admin
// API's JSON fields.
type diskRecord struct {
	V              int             `json:"v"`
	SID            uint16          `json:"sid"`
	CID            string          `json:"cid"`
	CIP            string          `json:"cip,omitempty"`
	CPort          string          `json:"cport,omitempty"`
	CStatus        bool            `json:"cstatus,omitempty"`
	ConnectedAt    time.Time       `json:"connected_at,omitzero"`
	LastSeen       time.Time       `json:"last_seen,omitzero"`
	DisconnectedAt time.Time       `json:"disconnected_at,omitzero"`
	Reason         protocol.Reason `json:"reason,omitzero"`
	Node           string          `json:"node,omitempty"`
}

// appendRecord appends rec's stored form to dst. Times are kept in UTC so a
// record reads the same whatever the zone of the process that wrote it.
func appendRecord(dst []byte, rec registry.Record) ([]byte, error) {
	b, err := json.Marshal(diskRecord{
		V:              recordVersion,
		SID:            rec.SID,
		CID:            rec.CID,
		CIP:            rec.CIP,
		CPort:          rec.CPort,
		CStatus:        rec.CStatus,
		ConnectedAt:    utc(rec.ConnectedAt),
		LastSeen:       utc(rec.LastSeen),
		DisconnectedAt: utc(rec.DisconnectedAt),
		Reason:         rec.Reason,
		Node:           rec.Node,
	})
	if err != nil {
		return dst, fmt.Errorf("boltstore: encode %q: %w", rec.CID, err)
	}
	return append(dst, b...), nil
}

// decodeRecord reads the record stored under key. It is the store's only
// parser of bytes from disk, so it trusts nothing: the value must be one
// JSON object of a known version whose cid equals the key. Errors wrap
// ErrVersion or ErrCorrupt. The result shares no memory with key or value
// (bbolt's slices are only valid inside their transaction).
func decodeRecord(key, value []byte) (registry.Record, error) {
	var d diskRecord
	if err := json.Unmarshal(value, &d); err != nil {
		return registry.Record{}, fmt.Errorf("%w %q: %w", ErrCorrupt, key, err)
	}
	switch {
	case d.V == 0:
		return registry.Record{}, fmt.Errorf("%w %q: no version", ErrCorrupt, key)
	case d.V != recordVersion:
		return registry.Record{}, fmt.Errorf("%w %d in record %q (this build reads %d)", ErrVersion, d.V, key, recordVersion)
	case d.CID == "":
		return registry.Record{}, fmt.Errorf("%w %q: no cid", ErrCorrupt, key)
	case d.CID != string(key):
		return registry.Record{}, fmt.Errorf("%w %q: holds cid %q", ErrCorrupt, key, d.CID)
	}
	return registry.Record{
		SID:            d.SID,
		CID:            d.CID,
		CIP:            d.CIP,
		CPort:          d.CPort,
		CStatus:        d.CStatus,
		ConnectedAt:    utc(d.ConnectedAt),
		LastSeen:       utc(d.LastSeen),
		DisconnectedAt: utc(d.DisconnectedAt),
		Reason:         d.Reason,
		Node:           d.Node,
	}, nil
}

// utc drops the zone and the monotonic reading, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
