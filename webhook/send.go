package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
)

// Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// send delivers batch: tries until a 2xx (nil), a 410 (ErrDisabled) or
// the end of ctx. Only one request is in flight at a time, which keeps
// the log's order.
func (d *Deliverer) send(ctx context.Context, batch []events.Raw) error {
	body := encodeBatch(d.bodies.take(), batch)
	d.bodies.keep(body)
	id := requestID(batch)
	var said []string // the kinds of failure this batch's log lines gave
	for n := 1; ; n++ {
		status, h, err := d.post(ctx, id, body)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		result := classify(status, err)
		d.m.request(result).Inc()
		switch {
		case result == ResultOK:
			d.health.acknowledged()
			if n > 1 {
				d.zl.Info("webhook: the receiver acknowledged again", zap.String("webhook_id", id), zap.Int("tries", n))
			}
			return nil
		case result == ResultGone:
			d.health.gone()
			d.disabled.Store(true)
			d.m.disabled.Set(1)
			d.zl.Error("webhook: the receiver answered 410 Gone; the webhook is off until cliser restarts",
				zap.String("webhook_id", id), zap.Uint64("acked", d.acked.Load()))
			return ErrDisabled
		}
		d.health.failed(answerText(result, status, err))
		wait := retryWait(n, status, h, d.o.backoffMin, d.o.backoffMax, time.Now())
		fields := []zap.Field{zap.String("webhook_id", id), zap.String("result", result),
			zap.Int("status", status), zap.Int("try", n), zap.Duration("retry_in", wait), zap.Error(err)}
		if result == Result3xx {
			fields = append(fields, zap.String("location", shownLocation(h.Get("Location"))),
				zap.String("hint", "redirects are not followed: set --webhook-url to the final address"))
		}
		// Once per batch and kind of answer, not once per try: a batch
		// whose 500s turned into 302s never named the redirect's target
		// (events audit).
		if !slices.Contains(said, result) {
			said = append(said, result)
			d.zl.Warn("webhook: the receiver did not acknowledge; retrying", fields...)
		} else {
			d.zl.Debug("webhook: retrying", fields...)
		}
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
	}
}

// post makes one try. The timestamp and signatures are of this try: a
// receiver rejects timestamps more than a few minutes off, and a retry may
// come much later than the first try.
func (d *Deliverer) post(ctx context.Context, id string, body []byte) (int, http.Header, error) {
	unix := time.Now().Unix()
	if s := d.signer.Load(); s != d.macsOf {
		d.macs, d.macsOf = s.newMACs(), s
	}
	sig := d.macs.sign(id, unix, body)
	d.tsBuf = strconv.AppendInt(d.tsBuf[:0], unix, 10)
	if d.direct != nil {
		before := d.direct.unasked
		status, h, err := d.direct.do(ctx, id, d.tsBuf, sig, body)
		if n := d.direct.unasked - before; n > 0 {
			d.unasked(n)
		}
		return status, h, err
	}
	req, err := http.NewRequestWithContext(d.bodies.traced(ctx), http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cliser-webhook")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, string(d.tsBuf))
	req.Header.Set(HeaderSignature, string(sig))
	resp, err := d.client.Do(req)
	if err != nil {
		// A *url.Error's text is the whole URL, query included (only a
		// password is masked): it goes to the log and to /readyz, which
		// answers without the admin token. Name the receiver as the log
		// does instead.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = d.where
		}
		return 0, nil, err
	}
	// Read a little of the answer so the connection can be reused, for
	// bodyWait at most (a close ends a read under way).
	stop := time.AfterFunc(bodyWait, func() { _ = resp.Body.Close() })
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	stop.Stop()
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

func classify(status int, err error) string {
	switch {
	case err != nil:
		return classifyErr(err)
	case status >= 200 && status < 300:
		return ResultOK
	case status == http.StatusGone:
		return ResultGone
	case status >= 300 && status < 400:
		return Result3xx
	case status >= 400 && status < 500:
		return Result4xx
	case status < 200:
		return ResultError // 101 Switching Protocols: no answer to a POST (it was counted http_5xx)
	default:
		return Result5xx
	}
}

// classifyErr is classify of a try that got no answer; apart, so that a
// try that did allocates nothing for the errors.As target.
func classifyErr(err error) string {
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return ResultTimeout
	}
	return ResultError
}

// answerText is a try's answer for Healthy: its status, or its error.
func answerText(result string, status int, err error) string {
	if err != nil {
		return result + ": " + err.Error()
	}
	return result + " (HTTP " + strconv.Itoa(status) + ")"
}

// shownLocation is a redirect's Location as the log may show it: without
// its user info, query and fragment, as the webhook's own URL is shown. A
// receiver that redirects keeps the rest of the URL (http to https, a
// new host), so its Location carries the --webhook-url's password and
// ?token= as often as not.
func shownLocation(loc string) string {
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "(not a URL)"
	}
	if u.Scheme == "" && u.Host == "" {
		return u.Path
	}
	return shownURL(u)
}

// shownURL is u as logs and notes show it: no user info, query or
// fragment, where a receiver's secrets go.
func shownURL(u *url.URL) string {
	if u.Scheme == "" { // a Location of //host/path: the scheme of the request
		return "//" + u.Host + u.Path
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// unaskedLogQuiet spaces the warnings of unasked-for answers: a receiver
// that answers every request twice would give one a batch.
const unaskedLogQuiet = time.Minute

// unasked counts and says n connections dropped for bytes the receiver
// sent that no request asked for (direct.reusable): dropped without a
// word, a receiver that answers twice went unseen (cluster audit). Such
// an answer that came after the next request was written is read as
// that request's: HTTP/1.1 carries no request id (docs/events.md).
func (d *Deliverer) unasked(n int) {
	d.m.unasked.Add(float64(n))
	if d.unaskedLog.Open(unaskedLogQuiet) {
		d.zl.Warn("webhook: the receiver sent an answer no request asked for (a second answer to one request?); "+
			"the connection is dropped and the next request goes on a new one. An answer that comes after the next "+
			"request is written is taken as that request's: fix the receiver", zap.Int("dropped", n))
	}
}
