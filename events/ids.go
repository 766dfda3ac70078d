package events

import "strconv"

// idBatch is how many event IDs one string is made for.
const idBatch = 64

// idCutter hands out the IDs of a process's events ("evt-", the boot ID,
// "-", a counter in base 36) cut from one string made for idBatch of
// them: an allocation per 64 events instead of one each (two events a
// handshake; issue 17). A batch's string lives as long as any of its IDs,
// which is until their events are written. Not safe for concurrent use:
// the queue's mutex guards it.
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
