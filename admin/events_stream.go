package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
)

// streamHeartbeat is how often a quiet stream gets a comment line, so that
// proxies and load balancers do not close it as idle (EVENTS.md: at least
// every 15 s).
var streamHeartbeat = 10 * time.Second

// streamWriteTimeout bounds one write to a stream's peer: a consumer that
// stops reading is cut off instead of holding the goroutine forever.
var streamWriteTimeout = 30 * time.Second

// streamQuery is the stream's query: after, type and cid, and a
// Last-Event-ID (an EventSource's resume) over after.
func streamQuery(r *http.Request) (EventsQuery, error) {
	q, err := parseEventsQuery(r)
	if err != nil {
		return q, err
	}
	if q.Wait > 0 || r.URL.Query().Has("limit") {
		return q, badRequest("wait and limit are for GET /v1/events; the stream takes after, type and cid")
	}
	if id := strings.TrimSpace(r.Header.Get("Last-Event-ID")); id != "" {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return q, badRequest(fmt.Sprintf("Last-Event-ID %q: want the id (seq) of the last event received", id))
		}
		q.After, q.HasAfter = n, true
	}
	return q, nil
}

// handleEventsStream is GET /v1/events/stream: Server-Sent Events, one per
// event (id: seq, event: type, data: the JSON). It resumes after the
// Last-Event-ID header or ?after=N; without either it sends only new
// events. Asked for events that fell out of the log, it answers 410 as JSON
// before the stream starts; if the log overtakes a consumer mid-stream, the
// stream ends, and the consumer's resume gets that 410.
func (a *API) handleEventsStream(w http.ResponseWriter, r *http.Request) {
	if a.opts.events == nil {
		writeError(w, errNoEvents)
		return
	}
	q, err := streamQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	release, ok := a.takeWaitSlot(w, "event stream")
	if !ok {
		return
	}
	defer release()
	if !q.HasAfter {
		q.After = a.opts.events.Newest()
	}
	q.Limit = MaxEventsLimit
	f := newFrames(a.opts.events, q, a.framing)
	// The first page is read before the 200, so that a resume from what
	// fell out answers 410 with a body a client can read.
	page, next, err := f.next(r.Context(), q.After)
	if err != nil {
		writeEventsError(w, err)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		// The head is the whole answer: a stream whose body goes nowhere
		// held its wait slot, and the connection (a keep-alive's next
		// request went unanswered), until the client closed (audit).
		return
	}
	// A first comment opens the stream at once, so a client knows it is
	// connected before the first event.
	if a.writeStream(rc, w, openingComment) != nil {
		return
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	stop := context.AfterFunc(a.waitsCtx, func() { cancel(errServerStopping) })
	defer stop()
	a.endWhenRevoked(ctx, cancel, r)
	a.stream(ctx, rc, w, f, page, next)
	// Ended by the server, not the reader: said as the log's overtaking
	// is. A stop's end read as a guess in events tail (stream audit).
	if why := context.Cause(ctx); r.Context().Err() == nil && (why == errServerStopping || why == errTokenRevoked) {
		a.streamEnded(why)
		_ = a.writeStream(rc, w, endComment(why))
	}
}

// Why the server ends a stream, besides its reads: its last comment says
// so, and MetricEventStreamsEnded counts it.
var (
	errServerStopping = errors.New("the server is shutting down")
	errTokenRevoked   = errors.New("its token was revoked (a reload of the tokens)")
)

// streamEndReasons are MetricEventStreamsEnded's reasons.
var streamEndReasons = []string{"overtaken", "read error", "stalled", "revoked", "stopping"}

// streamEnded counts a stream the server ended for why.
func (a *API) streamEnded(why error) {
	reason := "read error"
	var gone *events.GoneError
	switch {
	case errors.As(why, &gone):
		reason = "overtaken"
	case errors.Is(why, os.ErrDeadlineExceeded):
		reason = "stalled"
	case why == errTokenRevoked:
		reason = "revoked"
	case why == errServerStopping:
		reason = "stopping"
	}
	a.waits.ended.WithLabelValues(reason).Inc()
}

// endWhenRevoked ends a stream or a long-poll whose token a reload of the
// tokens (SIGHUP) dropped: the auth check runs once, when the request
// comes, and the holder of a revoked token would otherwise keep its
// events coming. The client's resume then gets the 401 any request would.
func (a *API) endWhenRevoked(ctx context.Context, cancel context.CancelCauseFunc, r *http.Request) {
	tokens := a.opts.tokens
	if tokens.Len() == 0 {
		return
	}
	go func() {
		for {
			changed := tokens.changes()
			if a.revoked(r) {
				cancel(errTokenRevoked)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
}

// revoked reports whether a reload of the tokens dropped r's since it
// was checked.
func (a *API) revoked(r *http.Request) bool {
	if a.opts.tokens.Len() == 0 {
		return false
	}
	given, _ := bearer(r)
	return !a.opts.tokens.match(given)
}

// stream sends page, then every matching event as it comes, until the
// client leaves or a write fails.
func (a *API) stream(ctx context.Context, rc *http.ResponseController, w http.ResponseWriter, f *frames, page []byte, next uint64) {
	wrote := time.Now() // the opening comment
	for {
		if len(page) > 0 {
			if a.writeStream(rc, w, page) != nil {
				return
			}
			wrote = time.Now()
		}
		// next is how far the log was read, not the last event sent, so
		// a filtered stream waits for events it has not read yet. Wait
		// returns at once when more is already there (a full page, or a
		// filtered read that stopped at its scan cap).
		var ok bool
		if wrote, ok = a.waitStream(ctx, rc, w, next, wrote); !ok || ctx.Err() != nil {
			return // Wait says nil when more is there, ended or not
		}
		var err error
		if page, next, err = f.next(ctx, next); err != nil {
			if ctx.Err() == nil {
				a.opts.log.Info("events stream ended: " + err.Error())
				a.streamEnded(err)
				_ = a.writeStream(rc, w, endComment(err))
			}
			return
		}
	}
}

// waitStream waits for an event after after, and sends a comment line
// whenever the stream has been quiet for streamHeartbeat: timed from its
// last write (wrote, returned updated), not from the log's last event, so
// that a filtered stream whose events all go elsewhere gets one too.
// False: the client left or a write failed.
func (a *API) waitStream(ctx context.Context, rc *http.ResponseController, w http.ResponseWriter, after uint64, wrote time.Time) (time.Time, bool) {
	for {
		wctx, cancel := context.WithTimeout(ctx, streamHeartbeat-time.Since(wrote))
		err := a.opts.events.Wait(wctx, after)
		cancel()
		switch {
		case err == nil:
			return wrote, true
		case ctx.Err() != nil:
			return wrote, false
		}
		if a.writeStream(rc, w, keepAliveComment) != nil {
			return wrote, false
		}
		wrote = time.Now()
	}
}

// endComment is the stream's last line when it ends for err: a reader
// that fell behind what the log keeps saw its stream end without a word
// (events audit); its reconnect is answered 410. A comment, which an
// EventSource ignores and a reader of the raw stream can show.
func endComment(err error) []byte {
	why := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
	return []byte(streamEndedComment + why + "\n\n")
}

// streamEndedComment starts the comment that ends a stream for a reason.
const streamEndedComment = ": stream ended: "

var (
	openingComment   = []byte(": stream of cliser events\n\n")
	keepAliveComment = []byte(": keep-alive\n\n")
)

// writeStream writes b (kept by no one after: a page was copied twice
// more, ~1.2 MB held a stalled reader) and logs a reader cut off for not
// reading: it was cut without a trace (events audit).
func (a *API) writeStream(rc *http.ResponseController, w http.ResponseWriter, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	_, err := w.Write(b)
	if err == nil {
		err = rc.Flush()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) { // not a client that left: net/http ends ctx at any failed write
		a.opts.log.Info("events stream cut off: its reader read nothing for "+streamWriteTimeout.String(), zap.Error(err))
		a.streamEnded(err)
	}
	return err
}
