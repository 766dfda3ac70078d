package registry

import (
	"strconv"
	"unsafe"
)

// batchText gives a flush's records their port and session name from one
// string, where each record's formatted port and name were two small
// strings of their own (1.3 of a handshake's 17 allocations in
// node/BenchmarkHandshake), made to be copied into the store's encoding
// and dropped. The records' strings share that one string, which lives as
// long as the batch does; for a CopyingStore, which keeps none of them,
// they point into buf itself (fill). Under the registry's flushMu.
type batchText struct {
	buf  []byte
	ends []int // per record: end of its port, end of its session name
}

// maxKeptText is the most bytes of text kept for the next flush, as
// keptBatch is for the records.
const maxKeptText = keptBatch * 40

// reserve makes room for n records' text at once: grown by append, a
// take's buffers were copied and dropped about twice over.
func (t *batchText) reserve(n int) {
	if cap(t.ends) < 2*n {
		t.ends = make([]int, 0, 2*n)
	}
	if want := n * textPerRecord; cap(t.buf) < want {
		t.buf = make([]byte, 0, want)
	}
}

// textPerRecord is room for a port (5 digits) and a session name (16 hex
// digits, a dash and a count): most records' text fits.
const textPerRecord = 32

// add appends e's record, its port and session name still empty, and
// their text. r.mu must be held.
func (t *batchText) add(put []Record, e *entry, r *Registry) []Record {
	if len(put) == 0 {
		t.buf, t.ends = t.buf[:0], t.ends[:0]
	}
	rec := e.recordNoText(r.opts.node)
	t.buf = strconv.AppendUint(t.buf, uint64(e.cport), 10)
	t.ends = append(t.ends, len(t.buf))
	t.buf = r.names.appendTo(t.buf, e.session)
	t.ends = append(t.ends, len(t.buf))
	return append(put, rec)
}

// fill gives every record of put, as add made them, its port and name:
// one new string for them all, or, when the store copies them (reuse:
// CopyingStore), t.buf itself, which the next take overwrites. The
// harness's bursts allocated ~52 B a handshake for that string, two
// records' text (issue 17, session 16).
func (t *batchText) fill(put []Record, reuse bool) {
	if len(put) == 0 {
		return
	}
	var text string
	if reuse {
		text = unsafe.String(unsafe.SliceData(t.buf), len(t.buf))
	} else {
		text = string(t.buf)
	}
	start := 0
	for i := range put {
		portEnd, end := t.ends[2*i], t.ends[2*i+1]
		put[i].CPort, put[i].Session = text[start:portEnd], text[portEnd:end]
		start = end
	}
	if cap(t.buf) > maxKeptText {
		t.buf, t.ends = nil, nil
	}
}
