package cluster

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// FuzzChangeOf: a delete or marker is never taken for a value, and a
// value's writer reads back as written.
func FuzzChangeOf(f *testing.F) {
	f.Add("n1", "", "")
	f.Add("", "", "")
	f.Add("n1", "DEL", "")
	f.Add("n1", "PURGE", "")
	f.Add("", "", "MaxAge")
	f.Add("", "", "Remove")
	f.Fuzz(func(t *testing.T, writer, op, marker string) {
		h := nats.Header{}
		for k, v := range map[string]string{hdrWriter: writer, hdrKVOperation: op, hdrMarkerReason: marker} {
			if v != "" {
				h.Set(k, v)
			}
		}
		c := changeOf("k", 7, h, nil)
		if c.key != "k" || c.rev != 7 {
			t.Fatalf("key or revision lost: %+v", c)
		}
		deleted := op == "DEL" || op == "PURGE" || marker == "MaxAge" || marker == "Purge" || marker == "Remove"
		if deleted != (c.op != jetstream.KeyValuePut) {
			t.Fatalf("op %q marker %q read as %v", op, marker, c.op)
		}
		if !deleted && c.writer != writer {
			t.Fatalf("writer %q read as %q", writer, c.writer)
		}
	})
}
