package webhook

import (
	"fmt"
	"sync"
	"time"
)

// health is what /readyz says of the webhook: since when the receiver
// has not acknowledged (and its last answer), since when a 410 turned it
// off, since when its cursor cannot be stored. Written by the delivering
// goroutine, read by any. A fault lasts from its first try to the next
// success: a receiver that is away for an hour shows for an hour, where
// its log line came once.
type health struct {
	mu          sync.Mutex
	failing     time.Time // the first unacknowledged try of the failures now running
	lastAnswer  string
	offSince    time.Time
	cursorSince time.Time
	cursorErr   string
}

func (h *health) failed(answer string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing.IsZero() {
		h.failing = time.Now()
	}
	h.lastAnswer = answer
}

func (h *health) acknowledged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing, h.lastAnswer = time.Time{}, ""
}

func (h *health) gone() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offSince, h.failing = time.Now(), time.Time{}
}

func (h *health) cursor(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.cursorSince, h.cursorErr = time.Time{}, ""
		return
	}
	if h.cursorSince.IsZero() {
		h.cursorSince = time.Now()
	}
	h.cursorErr = err.Error()
}

// Healthy is nil while the webhook delivers (or waits for events), else
// what ails it and since when: the receiver not acknowledging, a 410 that
// turned it off, a cursor that cannot be stored. The events wait in the
// log meanwhile (cliser_webhook_lag_events). Safe from any goroutine.
func (d *Deliverer) Healthy() error {
	h := &d.health
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !h.offSince.IsZero():
		return fmt.Errorf("webhook: off since %s: %s answered 410 Gone; restart cliser to deliver again (%s)",
			stamp(h.offSince), d.where, waiting(d.lag()))
	case !h.failing.IsZero():
		return fmt.Errorf("webhook: %s has not acknowledged since %s (last answer: %s); retrying, %s",
			d.where, stamp(h.failing), h.lastAnswer, waiting(d.lag()))
	case !h.cursorSince.IsZero():
		return fmt.Errorf("webhook: its cursor cannot be stored since %s: %s (a restart may send acknowledged events again)",
			stamp(h.cursorSince), h.cursorErr)
	}
	return nil
}

// waiting is "1 event waits" or "12 events wait".
func waiting(lag float64) string {
	if lag == 1 {
		return "1 event waits"
	}
	return fmt.Sprintf("%.0f events wait", lag)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
