package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cliser/cliser/events"
)

// EventsFilter narrows what Events and Stream return.
type EventsFilter struct {
	Types []string // event types; empty: all
	CID   string   // one client; "": all
}

func (f EventsFilter) values(q url.Values) url.Values {
	if len(f.Types) > 0 {
		q.Set("type", strings.Join(f.Types, ","))
	}
	if f.CID != "" {
		q.Set("cid", f.CID)
	}
	return q
}

// Events fetches GET /v1/events: after nil asks for the newest events;
// limit 0 takes the server's default; wait > 0 long-polls. Events that
// fell out of the log come back as *events.GoneError.
func (c *Client) Events(ctx context.Context, after *uint64, limit int, f EventsFilter, wait time.Duration) (EventsResponse, error) {
	q := f.values(url.Values{})
	if after != nil {
		q.Set("after", strconv.FormatUint(*after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	var out EventsResponse
	err := c.do(ctx, http.MethodGet, "/v1/events?"+q.Encode(), nil, http.StatusOK, &out)
	return out, goneOf(err)
}

// History fetches GET /v1/clients/{cid}/history; limit 0 takes the default.
func (c *Client) History(ctx context.Context, cid string, limit int) (HistoryResponse, error) {
	path := "/v1/clients/" + pathSegment(cid) + "/history"
	if limit > 0 {
		path += "?limit=" + strconv.Itoa(limit)
	}
	var out HistoryResponse
	err := c.do(ctx, http.MethodGet, path, nil, http.StatusOK, &out)
	return out, err
}

// goneOf turns a 410 into *events.GoneError with the oldest seq kept.
func goneOf(err error) error {
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusGone {
		return err
	}
	if se.newest != nil {
		return &events.GoneError{Oldest: se.oldest, Ahead: true, Newest: *se.newest}
	}
	return &events.GoneError{Oldest: se.oldest}
}

// StreamIdle is how long Stream waits without a byte (the server sends a
// comment at least every 15 s) before it takes the connection for dead and
// makes a new one.
var StreamIdle = 45 * time.Second

// Stream follows GET /v1/events/stream and calls fn for each event, in
// order, until ctx ends (it then returns nil) or fn fails. It starts after
// *after, or with only new events when after is nil, and when the
// connection drops or goes silent it connects again by itself, resuming
// after the last event it passed to fn (Last-Event-ID), with backoff; a
// 503 (a cluster node whose event stream is away for a moment) or a 429
// (this address's wrong-token bucket empty for a while) is tried again
// too, after the answer's Retry-After when it has one. Events that fell
// out of the log come back as *events.GoneError; a rejected request (401,
// 400, 404) as *StatusError. onState, when not nil, hears of every
// (re)connection and drop, for a message to the user; a drop's error is a
// *RetryError, which says how long Stream waits before it tries again.
func (c *Client) Stream(ctx context.Context, after *uint64, f EventsFilter, fn func(events.Event) error, onState func(connected bool, err error)) error {
	var last *uint64
	if after != nil {
		v := *after
		last = &v
	}
	backoff := newStreamBackoff()
	answered := false // any request of this Stream got an HTTP answer
	for {
		var got bool
		var err error
		if last == nil {
			// "Only new events" is pinned to the newest seq now, so that a
			// drop before the first event resumes from there too.
			var resp EventsResponse
			if resp, err = c.Events(ctx, nil, 1, EventsFilter{}, 0); err == nil {
				last = &resp.Next
				answered = true
				continue
			}
		} else {
			got, err = c.streamOnce(ctx, last, f, func(ev events.Event) error {
				seq := ev.Seq
				last = &seq
				return fn(ev)
			}, onState)
			answered = answered || got
		}
		if ctx.Err() != nil {
			return nil
		}
		refused, stop, end := streamEnds(err, answered)
		if stop {
			return end
		}
		if refused {
			got, answered = false, true
		}
		wait := backoff.next(got)
		if se := (*StatusError)(nil); errors.As(err, &se) && se.RetryAfter > 0 {
			// The server said when (a locked-out address: when its
			// bucket has a token again); sooner is refused again, and
			// every 429 was logged and counted as one more.
			wait = se.RetryAfter
		}
		if onState != nil {
			onState(false, &RetryError{Err: err, After: wait})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// streamEnds says what a Stream whose request ended in err does next:
// stop, returning end, or try again; refused is an answer
// that was not the stream (503, 429), which Stream backs off from. A 429
// is this address's wrong-token bucket, empty for a while (the right
// token included), not the end of the stream. Before any request got an
// answer (answered false), a drop ends it: a wrong address or no server,
// which with a starting seq (--after) was "stream dropped" for ever, on
// a stream never up (CLI audit).
func streamEnds(err error, answered bool) (refused, stop bool, end error) {
	var se *StatusError
	var gone *events.GoneError
	var fnErr *callbackError
	switch {
	case errors.As(err, &se) && (se.Status == http.StatusServiceUnavailable || se.Status == http.StatusTooManyRequests):
		return true, false, nil
	case errors.As(err, &gone), errors.As(err, &se):
		return false, true, err
	case errors.As(err, &fnErr):
		return false, true, fnErr.err
	case !answered:
		return false, true, err
	}
	return false, false, nil
}

// RetryError is a drop or a refusal that Stream tries again after After.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// streamBackoff spaces Stream's reconnects: 250 ms doubling to 10 s, with
// jitter, back to 250 ms after a connection that was answered.
type streamBackoff struct{ d time.Duration }

func newStreamBackoff() streamBackoff { return streamBackoff{250 * time.Millisecond} }

// next is the next backoff to wait.
func (b *streamBackoff) next(answered bool) time.Duration {
	if answered {
		b.d = 250 * time.Millisecond
	}
	d := b.d/2 + rand.N(b.d/2+1)
	b.d = min(2*b.d, 10*time.Second)
	return d
}

type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// streamOnce is one connection of Stream. got says whether it was
// answered (so the backoff starts over).
func (c *Client) streamOnce(ctx context.Context, after *uint64, f EventsFilter, fn func(events.Event) error, onState func(bool, error)) (got bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	q := f.values(url.Values{})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/events/stream?"+q.Encode(), nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if after != nil {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(*after, 10))
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// No overall timeout: a stream lasts. The idle timer below stands
	// for it.
	hc := &http.Client{Transport: c.http.Transport, CheckRedirect: c.http.CheckRedirect}
	resp, err := hc.Do(req)
	if err != nil {
		return false, &UnreachableError{URL: c.shown, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return true, goneOf(statusError(resp.StatusCode, resp.Header, raw))
	}
	if onState != nil {
		onState(true, nil)
	}
	// The cut's cause is what the body's read returns: it said "stream
	// dropped (context canceled)" (events audit).
	silent := fmt.Errorf("no event and no keep-alive for %s: the server or a proxy between stopped sending", StreamIdle)
	idle := time.AfterFunc(StreamIdle, func() { cancel(silent) })
	defer idle.Stop()
	var ended string // why, as the server's last comment says (endComment)
	err = readSSE(resp.Body, func(line string) {
		idle.Reset(StreamIdle)
		if why, ok := strings.CutPrefix(line, streamEndedComment); ok {
			ended = why
		}
	}, func(e sseEvent) error {
		var ev events.Event
		if err := json.Unmarshal([]byte(e.Data), &ev); err != nil {
			return fmt.Errorf("event %s: data is not an event: %w", e.ID, err)
		}
		if err := fn(ev); err != nil {
			return &callbackError{err}
		}
		return nil
	})
	switch {
	case err == nil && ended != "":
		err = fmt.Errorf("the server ended the stream: %s", ended)
	case err == nil:
		err = errStreamEnded
	}
	return true, err
}

// errStreamEnded is a stream the server closed cleanly without saying why
// (it stopped or restarted): Stream connects again. One that says why
// (the log overtook its reader) is given that reason: the tail said
// "stopped or restarting?" of a server that had said (events audit). It read "unexpected EOF" in the
// tail's reconnect line (found by the events audit).
var errStreamEnded = errors.New("the server ended the stream: stopped or restarting?")
