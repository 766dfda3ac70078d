package events

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// idPrefix is the start of the IDs of this process's events: "evt-", 64
// random bits in hex, "-". IDs made by this process never meet those of
// another process or node, without any coordination.
func idPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "evt-" + hex.EncodeToString(b[:]) + "-"
}

// idWriter writes the IDs of the single-node log's events straight into
// their JSON, as the writer encodes them ("evt-", the boot ID, "-", a
// counter in base 36): no string per event, and no work on the event
// loops that queue them (issue 17). The writer's only.
type idWriter struct {
	quoted []byte // `"` and the prefix
	seq    uint64
}

func newIDWriter(prefix string) idWriter {
	return idWriter{quoted: append([]byte{'"'}, prefix...)}
}

// appendID appends the next ID as a JSON string (the prefix and base 36
// need no escapes).
func (w *idWriter) appendID(dst []byte) []byte {
	w.seq++
	dst = strconv.AppendUint(append(dst, w.quoted...), w.seq, 36)
	return append(dst, '"')
}

// idBatch is how many event IDs one string is made for.
const idBatch = 64

// idCutter hands out the IDs of the cluster stream's events (as
// idWriter's, which they need as strings: they are the messages' ids) cut
// from one string made for idBatch of them: an allocation per 64 events
// instead of one each. A batch's string lives as long as any of its IDs,
// which is until their events are published. Not safe for concurrent use:
// the stream's writer alone uses it.
type idCutter struct {
	prefix string
	seq    uint64
	buf    []byte
	s      string          // the batch's IDs, one after another
	ends   [idBatch]uint16 // where each ID in s ends
	next   int             // the next ID of s to hand out
}

func newIDCutter(prefix string) idCutter { return idCutter{prefix: prefix, next: idBatch} }

func (c *idCutter) id() string {
	if c.next == idBatch {
		c.fill()
	}
	start := 0
	if c.next > 0 {
		start = int(c.ends[c.next-1])
	}
	end := int(c.ends[c.next])
	c.next++
	return c.s[start:end]
}

func (c *idCutter) fill() {
	c.buf = c.buf[:0]
	for i := range c.ends {
		c.seq++
		c.buf = strconv.AppendUint(append(c.buf, c.prefix...), c.seq, 36)
		c.ends[i] = uint16(len(c.buf))
	}
	c.s, c.next = string(c.buf), 0
}
