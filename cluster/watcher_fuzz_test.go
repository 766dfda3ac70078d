package cluster

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FuzzChangeOf: the index's headers read back as written, a delete or
// marker is never indexed, and anything else is indexed only with both
// headers well formed (else the record is read from the bucket).
func FuzzChangeOf(f *testing.F) {
	f.Add("n1", "1", "", "")
	f.Add("n2", "0", "", "")
	f.Add("n1", "yes", "", "")
	f.Add("", "1", "", "")
	f.Add("n1", "1", "DEL", "")
	f.Add("n1", "1", "PURGE", "")
	f.Add("", "", "", "MaxAge")
	f.Add("", "", "", "Remove")
	f.Fuzz(func(t *testing.T, node, connected, op, marker string) {
		h := nats.Header{}
		for k, v := range map[string]string{hdrNode: node, hdrConnected: connected, hdrKVOperation: op, hdrMarkerReason: marker} {
			if v != "" {
				h.Set(k, v)
			}
		}
		c := changeOf("k", 7, h)
		if c.key != "k" || c.rev != 7 {
			t.Fatalf("key or revision lost: %+v", c)
		}
		if c.op != jetstream.KeyValuePut {
			if c.indexed {
				t.Fatalf("a delete indexed: %+v", c)
			}
			return
		}
		want := node != "" && (connected == "0" || connected == "1")
		if c.indexed != want || (want && (c.node != node || c.cstatus != (connected == "1"))) {
			t.Fatalf("headers %q %q read as %+v", node, connected, c)
		}
		if want {
			back := changeOf("k", 7, recordHeaders(c.node, c.cstatus))
			if back.node != node || back.cstatus != c.cstatus || !back.indexed {
				t.Fatalf("recordHeaders does not read back: %+v", back)
			}
		}
	})
}
