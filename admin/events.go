package admin

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/cliser/cliser/events"
)

// Limits of GET /v1/events (EVENTS.md).
const (
	defaultEventsLimit = 100
	MaxEventsLimit     = 1000
	// MaxEventsWait bounds ?wait=: a long-poll is a request, not a stream
	// (that is /v1/events/stream).
	MaxEventsWait = 5 * time.Minute
	// eventsScanCap bounds how many events one filtered read takes
	// before it answers with what matched: a long filtered backlog is
	// answered in parts. A read that matched nothing reads on (next
	// must stay the after asked, so a consumer could not get past the
	// events read otherwise).
	eventsScanCap = 20_000
)

// decodedReach bounds how far back a filtered read without after goes in
// a log that decodes every event it reads (newestEvents).
var decodedReach uint64 = 200_000

// WithEvents serves the event log (GET /v1/events, /v1/events/stream,
// /v1/clients/{cid}/history) from r. When r is also an events.Historian,
// ?cid= and history read its index by client ID.
func WithEvents(r events.Reader) Option { return func(o *options) { o.events = r } }

// EventsQuery is GET /v1/events' query.
type EventsQuery struct {
	After    uint64
	HasAfter bool            // false: the newest Limit events
	Limit    int             // 0: defaultEventsLimit
	Types    map[string]bool // empty: every type
	CID      string          // "": every client
	Wait     time.Duration   // long-poll: wait up to this for at least one event
	until    uint64          // readMatching reads no event past it; 0: up to the newest
}

// EventsResponse is GET /v1/events' answer.
type EventsResponse struct {
	Events []events.Event `json:"events"`
	Next   uint64         `json:"next"`
}

// GoneResponse is the 410 answer when the asked events fell out of the
// log, or were never its own: Newest then says how far it has come.
type GoneResponse struct {
	Error  string  `json:"error"`
	Oldest uint64  `json:"oldest"`
	Newest *uint64 `json:"newest,omitempty"`
}

func (q EventsQuery) match(ev *events.Event) bool {
	return (len(q.Types) == 0 || q.Types[ev.Type]) && (q.CID == "" || q.CID == ev.CID)
}

// Events is GET /v1/events: up to q.Limit events with seq > q.After, oldest
// first, and next, to pass back as after: the seq of the last event
// answered, or on an empty answer the after asked (the newest seq when
// none was), with a filter too (EVENTS.md). With q.Wait it waits that long
// for a first matching event; a server that stops ends the wait at once,
// with the empty answer. An *events.GoneError says the asked events are no
// longer all kept.
func (a *API) Events(ctx context.Context, q EventsQuery) (EventsResponse, error) {
	r := a.opts.events
	if r == nil {
		return EventsResponse{}, errNoEvents
	}
	var err error
	if q.Limit, err = pageSize(q.Limit, defaultEventsLimit, MaxEventsLimit); err != nil {
		return EventsResponse{}, err
	}
	if !q.HasAfter {
		resp, err := a.newestEvents(ctx, q)
		if err != nil || len(resp.Events) > 0 || q.Wait <= 0 {
			return resp, err
		}
		// Nothing (that matches) yet: a long-poll without after waits
		// for the first event after the newest, as one given that seq
		// would; waited out, it answers next that newest seq. It used to
		// answer at once, its wait ignored (EVENTS.md: wait up to that
		// long for at least one event).
		q.After, q.HasAfter = resp.Next, true
	}
	return a.eventsAfter(ctx, r, q)
}

// eventsAfter answers a query with an after: the events past it that
// match, or, given a wait, the first that come within it.
func (a *API) eventsAfter(ctx context.Context, r events.Reader, q EventsQuery) (EventsResponse, error) {
	empty := EventsResponse{Events: []events.Event{}, Next: q.After}
	// The reads go on from where the last one stopped (from.After), while
	// the answer's next stays the after asked until an event matches: a
	// filtered consumer that is given its after back re-reads what did
	// not match on its next request, but one request never reads an
	// event twice, nor waits for one it has already read.
	from := q
	var wctx context.Context
	// end is the newest seq when a read first stopped at the scan cap: a
	// request reads on up to it, not after events that keep coming.
	var end uint64
	for {
		evs, read, more, err := readMatching(ctx, r, from)
		if err != nil || len(evs) > 0 {
			return EventsResponse{Events: nonNil(evs), Next: lastSeq(evs, q.After)}, err
		}
		from.After = read
		if more && end == 0 {
			end = r.Newest()
		}
		if more && read < end && (wctx == nil || wctx.Err() == nil) {
			// Stopped at the scan cap with nothing matched: read on. An
			// empty answer gives the consumer back its after, so the
			// events read here would be the next request's again.
			continue
		}
		if q.Wait <= 0 {
			return empty, nil
		}
		if wctx == nil {
			var end func()
			wctx, end = a.pollContext(ctx, q.Wait)
			defer end()
		}
		// Wait says nil whenever more is there, over or not: events that
		// keep coming and never match must not keep a poll past its wait.
		if wctx.Err() != nil || r.Wait(wctx, read) != nil {
			if ctx.Err() != nil {
				return EventsResponse{}, ctx.Err()
			}
			return empty, nil // waited out, or the server stops
		}
		end = 0
	}
}

// pollContext is a long-poll's wait: ctx for at most wait, and cut short
// when the server stops, which answers its long-polls at once rather than
// hold its stop for their wait and then cut them off. end releases it.
func (a *API) pollContext(ctx context.Context, wait time.Duration) (context.Context, func()) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	stop := context.AfterFunc(a.waitsCtx, cancel)
	return wctx, func() { stop(); cancel() }
}

// lastSeq is the seq of the last of evs, or none when evs is empty.
func lastSeq(evs []events.Event, none uint64) uint64 {
	if len(evs) == 0 {
		return none
	}
	return evs[len(evs)-1].Seq
}

// readMatching reads from q.After on until it has q.Limit matching events,
// reaches the newest, or has read eventsScanCap. It returns them, the seq
// up to which it has read the log (where a next read goes on from, and
// what a wait for more waits after), and whether it stopped at the cap
// with more to read.
func readMatching(ctx context.Context, r events.Reader, q EventsQuery) (out []events.Event, read uint64, more bool, err error) {
	if err := aheadOf(ctx, r, q.After); err != nil {
		return nil, q.After, false, err
	}
	read = q.After
	pg := newMatchPager(r, q)
	var newest uint64
	if pg.indexed {
		// The index reads the client's events only: the last of them is
		// not how far the log was read. Reading them all up to newest
		// (taken before) is, else a wait after the last of them would
		// return at once at every other client's event.
		newest = r.Newest()
	}
	for scanned := 0; ; {
		if scanned >= eventsScanCap {
			return out, read, true, nil
		}
		page, n, last, err := pg.next(ctx, read)
		if err != nil {
			return nil, q.After, false, err
		}
		if n == 0 {
			return out, max(read, newest), false, nil
		}
		scanned += n
		for i := range page {
			if !q.match(&page[i]) {
				continue
			}
			out = append(out, page[i])
			if len(out) == q.Limit {
				return out, page[i].Seq, false, nil
			}
		}
		read = last
		if q.until != 0 && read >= q.until {
			return out, read, false, nil
		}
	}
}

// matchPager reads the log for readMatching a page at a time, the
// cheapest way q allows: a client's events by the index, events of some
// types by their raw type field (only those decoded), else every event.
type matchPager struct {
	q       EventsQuery
	r       events.Reader
	h       events.Historian
	raw     events.RawReader
	indexed bool // by the cid index
	byType  bool // raw, decoding the types asked for only
	raws    []events.Raw
	buf     []byte
}

func newMatchPager(r events.Reader, q EventsQuery) *matchPager {
	pg := &matchPager{q: q, r: r}
	pg.h, pg.indexed = r.(events.Historian)
	pg.indexed = pg.indexed && q.CID != ""
	pg.raw, _ = r.(events.RawReader)
	pg.byType = !pg.indexed && pg.raw != nil && len(q.Types) > 0
	return pg
}

// next reads the page after read, up to q.until: what in it may match,
// how many events it read (0: none left) and the seq of the last.
func (pg *matchPager) next(ctx context.Context, read uint64) (page []events.Event, n int, last uint64, err error) {
	switch {
	case pg.byType:
		pg.raws, pg.buf, err = pg.raw.AppendRaw(ctx, pg.raws[:0], pg.buf[:0], read, MaxEventsLimit)
		pg.raws = upTo(pg.raws, pg.q.until, func(r events.Raw) uint64 { return r.Seq })
		if err != nil || len(pg.raws) == 0 {
			return nil, 0, 0, err
		}
		page, err = ofTypes(pg.raws, pg.q.Types)
		return page, len(pg.raws), pg.raws[len(pg.raws)-1].Seq, err
	case pg.indexed:
		page, err = pg.h.ReadCID(ctx, pg.q.CID, read, MaxEventsLimit)
	default:
		page, err = pg.r.Read(ctx, read, MaxEventsLimit)
	}
	page = upTo(page, pg.q.until, func(ev events.Event) uint64 { return ev.Seq })
	if err != nil || len(page) == 0 {
		return nil, 0, 0, err
	}
	return page, len(page), page[len(page)-1].Seq, nil
}

// upTo is s without its elements past until (all of s when until is 0);
// s is in seq order.
func upTo[T any](s []T, until uint64, seq func(T) uint64) []T {
	if until == 0 {
		return s
	}
	for len(s) > 0 && seq(s[len(s)-1]) > until {
		s = s[:len(s)-1]
	}
	return s
}

// ofTypes decodes the events of raws whose type is one of types: a type
// filter reads the log without decoding what it does not answer (most of
// a filtered read's CPU, that decoding).
func ofTypes(raws []events.Raw, types map[string]bool) ([]events.Event, error) {
	var out []events.Event
	for _, r := range raws {
		if typ, ok := r.Type(); ok && !types[string(typ)] {
			continue
		}
		ev, err := r.Event()
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// newestEvents answers a query without after: the newest q.Limit matching
// events; next is the last one's seq, the newest seq when none matched. A
// filtered one reads back from the newest in windows that double, up to
// eventsScanCap each, until it has q.Limit matches or reaches the oldest
// event kept, or, in a log without raw reads, decodedReach events back:
// it read the newest eventsScanCap alone, and answered none when the
// matches were older (events audit). A window's matches are all decoded,
// so the first, small, decodes few when matches are many.
func (a *API) newestEvents(ctx context.Context, q EventsQuery) (EventsResponse, error) {
	r := a.opts.events
	newest := r.Newest()
	if h, ok := r.(events.Historian); ok && q.CID != "" {
		return a.newestOfClient(ctx, h, q, newest)
	}
	filtered := len(q.Types) > 0 || q.CID != ""
	window := uint64(q.Limit)
	reach := uint64(math.MaxUint64)
	if _, raw := r.(events.RawReader); !raw {
		// A log without raw reads (a cluster's stream) decodes each event
		// it reads, ~12 µs: a type matching nothing read a 1,000,000-event
		// stream for ~12 s (late cluster audit).
		reach = decodedReach
	}
	var out []events.Event // the matches found, oldest first
	// One read at least: a log whose newest is not known yet (a cluster
	// node cut off from NATS) answers its error, not an empty page.
	for hi, first := newest, true; first || hi > 0 && len(out) < q.Limit && newest-hi < reach; first = false {
		w := q
		w.After, w.until, w.Limit = hi-min(window, hi), hi, int(window)
		hi = w.After
		evs, _, _, err := readMatching(ctx, r, w)
		for gone := (*events.GoneError)(nil); errors.As(err, &gone) && gone.Oldest > w.After+1; {
			w.After, hi = gone.Oldest-1, 0 // the window reaches past the oldest kept: the last
			evs, _, _, err = readMatching(ctx, r, w)
		}
		if err != nil {
			return EventsResponse{}, err
		}
		out = append(evs, out...)
		if !filtered {
			break
		}
		window = min(2*window, eventsScanCap)
	}
	out = out[max(len(out)-q.Limit, 0):]
	return EventsResponse{Events: nonNil(out), Next: lastSeq(out, newest)}, nil
}

// newestOfClient is newestEvents for ?cid=, from the index.
func (a *API) newestOfClient(ctx context.Context, h events.Historian, q EventsQuery, newest uint64) (EventsResponse, error) {
	latest, err := h.LatestCID(ctx, q.CID, eventsScanCap)
	if err != nil {
		return EventsResponse{}, err
	}
	var out []events.Event
	for i := range latest {
		if len(out) == q.Limit {
			break
		}
		if q.match(&latest[i]) {
			out = append(out, latest[i])
		}
	}
	slices.Reverse(out)
	return EventsResponse{Events: nonNil(out), Next: lastSeq(out, newest)}, nil
}

func nonNil(evs []events.Event) []events.Event {
	if evs == nil {
		return []events.Event{}
	}
	return evs
}

// aheadOf is the answer to a reader after a seq the log never gave. A
// single node's log (events.Floored) has given every seq up to its
// newest, so a cursor past it is another log's (a data dir lost whole,
// events.seq with it; another server behind the same address), and it
// waited without a word until the log passed it, then skipped what came
// before (found by the events audit). A cluster node may lag behind the
// stream another node answered from, so it asks the stream's leader
// (events.Renewable): only a cursor past the stream's own newest is
// another log's (the stream made anew under its readers: the cluster
// audit's tail waited silently for the new stream to reach seq 141). No
// answer from the leader: it waits, as before.
func aheadOf(ctx context.Context, r events.Reader, after uint64) error {
	newest := r.Newest()
	if after <= newest {
		return nil
	}
	if _, single := r.(events.Floored); !single {
		rn, ok := r.(events.Renewable)
		if !ok {
			return nil
		}
		cur, err := rn.Current(ctx)
		if err != nil || after <= cur.Newest {
			return nil
		}
		newest = cur.Newest
	}
	var oldest uint64
	if b, ok := r.(events.Bounded); ok {
		oldest = b.Oldest()
	}
	return &events.GoneError{Oldest: oldest, Ahead: true, Newest: newest}
}
