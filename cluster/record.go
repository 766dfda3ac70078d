package cluster

import (
	"encoding/json"
	"time"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// wireRecord is a record as the bucket holds it: JSON, so that `nats kv
// get` shows an operator something readable. Times keep nanoseconds.
type wireRecord struct {
	SID            uint16          `json:"sid"`
	CID            string          `json:"cid"`
	CIP            string          `json:"cip"`
	CPort          string          `json:"cport"`
	CStatus        bool            `json:"cstatus"`
	ConnectedAt    time.Time       `json:"connected_at"`
	LastSeen       time.Time       `json:"last_seen"`
	DisconnectedAt time.Time       `json:"disconnected_at,omitzero"`
	Reason         protocol.Reason `json:"reason"`
	Node           string          `json:"node"`
	Session        string          `json:"session,omitempty"`
}

func encodeRecord(r registry.Record) ([]byte, error) {
	return json.Marshal(wireRecord(r))
}

func decodeRecord(b []byte) (registry.Record, error) {
	var w wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return registry.Record{}, err
	}
	return registry.Record(w), nil
}
