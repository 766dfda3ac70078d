package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// parseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date (RFC 9110 10.2.3), relative to now. ok is false when the value
// is absent or neither form; a date in the past is a zero wait.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if strings.Trim(v, "0123456789") == "" {
		// delay-seconds: digits only. Past what a Duration holds is "a
		// long time", not no header (retryWait caps it at an hour).
		const most = uint64(1<<63-1) / uint64(time.Second)
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil || secs > most {
			secs = most // err: only ErrRange, v being digits
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(at.Sub(now), 0), true
}

// backoff is the wait before the next try after n failures in a row
// (n >= 1): jittered, uniform in [base, min(ceil, base*2^n)], so every
// wait lies in EVENTS.md's "1 s to 5 min" and the top doubles each try.
// Uniform from 0 (AWS's full jitter) tried again within a millisecond
// now and then (an audit saw 0.96 ms, and three tries in 20 ms after a
// restart). Jitter spreads retries when many senders hit one receiver.
func backoff(n int, base, ceil time.Duration) time.Duration {
	if base <= 0 {
		return 0
	}
	top := base
	for i := 0; i < n && top < ceil; i++ {
		top *= 2
	}
	top = max(min(top, ceil), base)
	return base + rand.N(top-base+1)
}

// maxRetryAfter bounds a receiver's Retry-After, so that a typo there
// (a date years ahead) can not stall delivery for longer than an hour.
const maxRetryAfter = time.Hour

// retryWait is the wait after the n-th failure in a row that answered
// status with header h: the receiver's Retry-After on 429 and 503 (at most
// maxRetryAfter), else the backoff. A Retry-After under the backoff's
// first step (0, or a date already past: a receiver's clock behind ours)
// counts as none, or it would have us try again at once, without end.
func retryWait(n, status int, h http.Header, base, ceil time.Duration, now time.Time) time.Duration {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(h.Get("Retry-After"), now); ok && d >= base {
			return min(d, maxRetryAfter)
		}
	}
	return backoff(n, base, ceil)
}
