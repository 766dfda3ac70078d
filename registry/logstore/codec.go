package logstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cliser/cliser/internal/jsonenc"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// recordVersion is the encoding version written into every record.
//
// Why JSON with a version field, and not a hand-packed binary layout:
//   - The store is written behind the hot path, in batches, every flush
//     interval, so readability wins over the last nanosecond: `strings
//     registry.snap` shows an operator the records much as the admin API
//     does. (The encoder is hand-written for speed anyway; see
//     appendRecord.)
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
	Session        string          `json:"session,omitempty"`
}

// appendRecord appends rec's stored form to dst. Times are kept in UTC so a
// record reads the same whatever the zone of the process that wrote it.
//
// It writes the JSON by hand, byte for byte what json.Marshal(diskRecord)
// gives (the tests and the fuzz target hold it to that), because a
// checkpoint re-encodes every connected record: with encoding/json that was
// about half of a 50k-record Save's CPU and most of its garbage. The
// decoder stays encoding/json: it runs once, at start.
func appendRecord(dst []byte, rec registry.Record) ([]byte, error) {
	n0 := len(dst)
	dst = append(dst, `{"v":`...)
	dst = strconv.AppendInt(dst, recordVersion, 10)
	dst = append(dst, `,"sid":`...)
	dst = strconv.AppendUint(dst, uint64(rec.SID), 10)
	dst = append(dst, `,"cid":`...)
	dst = jsonenc.AppendString(dst, rec.CID)
	dst = appendOmitEmpty(dst, `,"cip":`, rec.CIP)
	dst = appendOmitEmpty(dst, `,"cport":`, rec.CPort)
	if rec.CStatus {
		dst = append(dst, `,"cstatus":true`...)
	}
	var (
		err   error
		times jsonenc.TimeWriter // a record's times mostly share their date
	)
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{
		{`,"connected_at":`, rec.ConnectedAt},
		{`,"last_seen":`, rec.LastSeen},
		{`,"disconnected_at":`, rec.DisconnectedAt},
	} {
		if f.t.IsZero() {
			continue
		}
		dst = append(dst, f.name...)
		if dst, err = times.Append(dst, f.t, jsonenc.Nanos); err != nil {
			return dst[:n0], fmt.Errorf("logstore: encode %q: %w", rec.CID, err)
		}
	}
	if rec.Reason != protocol.ReasonNone {
		dst = appendOmitEmpty(dst, `,"reason":`, rec.Reason.String())
	}
	dst = appendOmitEmpty(dst, `,"node":`, rec.Node)
	dst = appendOmitEmpty(dst, `,"session":`, rec.Session)
	return append(dst, '}'), nil
}

// appendOmitEmpty appends the member name (with its comma and colon) and
// the string v, unless v is empty: omitempty's rule.
func appendOmitEmpty(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return jsonenc.AppendString(append(dst, name...), v)
}

// decodeRecord reads the record stored under key. It is the store's only
// parser of a record's bytes from disk (the files' framing is format.go's),
// so it trusts nothing: the value must be one JSON object of a known
// version whose cid equals the key. Errors wrap ErrVersion or ErrCorrupt.
// The result shares no memory with key or value (they lie in a mapping
// that is unmapped after the Load).
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
		Session:        d.Session,
	}, nil
}

// utc drops the zone and the monotonic reading, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
