package admin

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/cliser/cliser/events"
)

// frames reads a stream's pages and frames their matching events as SSE.
// An event stored as our encoder writes it goes out as stored: decoding
// and encoding each again was most of a catch-up's CPU, and 40 streams
// catching up on 15,000 events held the protocol's keep-alives for up to
// half a second on 2 cores (events audit). Those reads and their framing
// go one stream at a time, in lane: streams catching up then take one
// core, not the event loops' too. A cluster's stream, which may wait on
// NATS, does not hold the lane. Not safe for concurrent use: one
// stream's.
type frames struct {
	r    events.Reader
	raw  events.RawReader // nil: read decoded (a cluster's stream; a client's events, from the index)
	lane chan struct{}
	q    EventsQuery
	raws []events.Raw
	js   []byte
	out  []byte
}

func newFrames(r events.Reader, q EventsQuery, lane chan struct{}) *frames {
	f := &frames{r: r, q: q, lane: lane}
	if raw, ok := r.(events.RawReader); ok && q.CID == "" {
		f.raw = raw
	}
	return f
}

// next frames the matching events of the page after after, and says how
// far the log was read: a filtered stream waits after that, not after the
// last event it sent. The bytes are f's until the next call.
func (f *frames) next(ctx context.Context, after uint64) (out []byte, read uint64, err error) {
	f.out = f.out[:0]
	if f.raw == nil {
		q := f.q
		q.After = after
		page, read, _, err := readMatching(ctx, f.r, q)
		for i := range page {
			f.out = appendSSE(f.out, &page[i])
		}
		return f.out, read, err
	}
	if err := aheadOf(ctx, f.r, after); err != nil {
		return nil, after, err
	}
	select {
	case f.lane <- struct{}{}:
	case <-ctx.Done():
		return nil, after, ctx.Err()
	}
	defer func() { <-f.lane }()
	f.raws, f.js, err = f.raw.AppendRaw(ctx, f.raws[:0], f.js[:0], after, MaxEventsLimit)
	if err != nil || len(f.raws) == 0 {
		return nil, after, err
	}
	for _, r := range f.raws {
		if f.out, err = f.appendRaw(f.out, r); err != nil {
			return nil, after, err
		}
	}
	return f.out, f.raws[len(f.raws)-1].Seq, nil
}

// appendRaw frames r when it matches: as stored when it is as our encoder
// writes it, else decoded (an earlier build's times, a type that can not
// be read without decoding).
func (f *frames) appendRaw(dst []byte, r events.Raw) ([]byte, error) {
	typ, ok := r.Type()
	if !ok || !r.AsEncoded() {
		ev, err := r.Event()
		if err != nil || !f.q.match(&ev) {
			return dst, err
		}
		return appendSSE(dst, &ev), nil
	}
	if len(f.q.Types) > 0 && !f.q.Types[string(typ)] {
		return dst, nil
	}
	return appendFrame(dst, r.Seq, typ, r.JSON), nil
}

// appendSSE frames one decoded event. The JSON is one line (our encoder
// writes no newline inside), so it is one data: field.
func appendSSE(dst []byte, ev *events.Event) []byte {
	data, _ := json.Marshal(ev)
	return appendFrame(dst, ev.Seq, ev.Type, data)
}

// appendFrame frames one event: id: its seq, event: its type, data: its
// JSON.
func appendFrame[T string | []byte](dst []byte, seq uint64, typ T, data []byte) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, "\nevent: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}
