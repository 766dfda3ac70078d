package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/protocol"
)

// GET /v1/events over HTTP: the query read and checked, the answer
// written (410 for events no longer kept). The read itself is API.Events.

func (a *API) handleEvents(w http.ResponseWriter, r *http.Request) {
	q, err := parseEventsQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	if q.Wait > 0 { // the server's write timeout must not cut a long-poll
		release, ok := a.takeWaitSlot(w, "long-poll")
		if !ok {
			return
		}
		defer release()
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(q.Wait + 30*time.Second))
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		a.endWhenRevoked(ctx, cancel, r)
	}
	resp, err := a.Events(ctx, q)
	if q.Wait > 0 && a.revoked(r) {
		// A reload dropped its token while it waited: the events that
		// came meanwhile are not its to have, as a stream's are not
		// (admin audit).
		unauthorized(w, "the bearer token was revoked while the request waited (a reload of the tokens): use a token the server holds now")
		return
	}
	if err != nil {
		writeEventsError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// writeEventsError answers 410 {"error", "oldest"} for events that fell out
// of the log, and as writeError otherwise.
func writeEventsError(w http.ResponseWriter, err error) {
	var gone *events.GoneError
	if errors.As(err, &gone) && gone.Ahead {
		writeJSON(w, http.StatusGone, GoneResponse{
			Error: fmt.Sprintf("the asked seq is past the newest this server's event log has given, %d: the cursor is another log's "+
				"(its data dir lost, or another server): re-read the client list and resume from the newest event", gone.Newest),
			Oldest: gone.Oldest, Newest: &gone.Newest,
		})
		return
	}
	if errors.As(err, &gone) {
		writeJSON(w, http.StatusGone, GoneResponse{
			Error: fmt.Sprintf("the events after the asked seq are no longer kept (the oldest kept is %d): "+
				"re-read the client list and resume from the newest event", gone.Oldest),
			Oldest: gone.Oldest,
		})
		return
	}
	writeError(w, err)
}

// parseEventsQuery reads after, limit, type, cid and wait.
func parseEventsQuery(r *http.Request) (EventsQuery, error) {
	v := r.URL.Query()
	var q EventsQuery
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return q, badRequest(fmt.Sprintf("after %q: want a seq, a whole number from 0 to %d (pass the previous answer's next)", s, uint64(math.MaxUint64)))
		}
		q.After, q.HasAfter = n, true
	}
	var err error
	if q.Limit, err = parseLimit(v.Get("limit"), MaxEventsLimit); err != nil {
		return q, err
	}
	types, err := parseTypes(v["type"])
	if err != nil {
		return q, err
	}
	q.Types = types
	if s := v.Get("cid"); s != "" {
		if protocol.ValidateClientID([]byte(s)) != nil {
			return q, badRequest(fmt.Sprintf("cid %q is not a client ID: 1 to %d of A-Z a-z 0-9 . _ : @ -", s, protocol.MaxClientID))
		}
		q.CID = s
	}
	if s := v.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil && tooLongDuration.MatchString(s) {
			// Past Go's 290 years: as any wait past the longest (the
			// answer said "a longer one is read so", and refused it).
			d, err = MaxEventsWait, nil
		}
		if err != nil || d < 0 {
			return q, badRequest(fmt.Sprintf("wait %q: want a duration like 10s (at most %s: a longer one is read so)", s, MaxEventsWait))
		}
		q.Wait = min(d, MaxEventsWait) // a longer wait is the longest, as a larger limit is the most
	}
	return q, nil
}

// tooLongDuration is a duration well written but too long for a
// time.Duration (99999999999h).
var tooLongDuration = regexp.MustCompile(`^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))*$`)

// parseTypes reads ?type= (comma-separated, may repeat). An unknown type is
// an error rather than a filter that silently never matches.
func parseTypes(vals []string) (map[string]bool, error) {
	var out map[string]bool
	for _, v := range vals {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			if !slices.Contains(events.Types, t) {
				return nil, badRequest(fmt.Sprintf("type %q: want one of %s (comma-separated)", t, strings.Join(events.Types, ", ")))
			}
			if out == nil {
				out = make(map[string]bool)
			}
			out[t] = true
		}
	}
	if len(vals) > 0 && out == nil { // "?type=," filtered nothing out: read as every type, as ?type= is refused
		return nil, badRequest(`query: "type" names no type: give one or more, comma-separated, or leave it out`)
	}
	return out, nil
}
