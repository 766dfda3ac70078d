package admin

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// MetricAdminAcceptErrors counts the admin listener's accepts that failed
// for want of a resource (the open-files limit, EMFILE).
const MetricAdminAcceptErrors = "cliser_admin_accept_errors_total"

// acceptNoteLinger is how long the "admin" health note stays after the
// last failed accept: a probe that got through once the accepts worked
// again still sees why it waited.
const acceptNoteLinger = time.Minute

// acceptFault is the admin listener's accepts failing for want of a
// resource. net/http logged each retry at INFO, once a second, counted
// none, and /readyz said ready while probes went unanswered (signals
// audit): now a run of failures is a WARN (one a minute at most: the
// accepts flap while descriptors come and go), each is counted, and
// /readyz and /v1/health carry an "admin" note.
type acceptFault struct {
	ep     loggate.Episode // Accept's goroutine only
	gate   loggate.Gate
	logged bool // this run's WARN went out; Accept's goroutine only
	count  prometheus.Counter
	since  atomic.Int64 // the note's first failure (Unix ns)
	last   atomic.Int64 // the last failure (Unix ns); 0: none yet
	reason atomic.Pointer[string]
}

func newAcceptFault() *acceptFault {
	return &acceptFault{count: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricAdminAcceptErrors,
		Help: "Accepts of the admin listener that failed for want of a resource (the open-files limit); retried."})}
}

// outOfResources reports whether an accept failed for want of a resource,
// which frees up: it is retried, not the listener's end.
func outOfResources(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (f *acceptFault) failed(err error, log *zap.Logger) {
	f.count.Inc()
	now := time.Now()
	if last := f.last.Load(); last == 0 || now.Sub(time.Unix(0, last)) > acceptNoteLinger {
		f.since.Store(now.UnixNano()) // a new note, not the one still shown
	}
	f.last.Store(now.UnixNano())
	if f.ep.Fail() {
		why := err.Error()
		f.reason.Store(&why)
		if f.gate.Open(acceptNoteLinger) {
			f.logged = true
			log.Warn("admin listener cannot accept connections: they wait in the kernel's queue (probes too) "+
				"until it can; retrying (raise the open-files limit: ulimit -n, systemd LimitNOFILE=)", zap.Error(err))
		}
	}
}

func (f *acceptFault) accepted(log *zap.Logger) {
	if f.ep.OK() && f.logged {
		f.logged = false
		log.Info("admin listener accepts connections again")
	}
}

// note is the "admin" health note: from a run's first failed accept until
// acceptNoteLinger after its last. Safe from any goroutine.
func (f *acceptFault) note() error {
	last := f.last.Load()
	if last == 0 || time.Since(time.Unix(0, last)) > acceptNoteLinger {
		return nil
	}
	why := ""
	if p := f.reason.Load(); p != nil {
		why = *p
	}
	return fmt.Errorf("admin listener: accepts failed from %s to %s (%s): connections, probes too, waited in the kernel's queue; "+
		"see cliser_admin_accept_errors_total", time.Unix(0, f.since.Load()).UTC().Format(time.RFC3339),
		time.Unix(0, last).UTC().Format(time.RFC3339), why)
}

// acceptRetrying is the listener's Accept, retried (5 ms, doubling to
// 1 s) while it fails for want of a resource, so that net/http neither
// logs each retry nor ends Serve; it ends when the listener closes. Each
// failure closes the connection that has waited longest for a request,
// as a full listener does (makeRoom), to free its descriptor: idle
// keep-alives held the descriptors a probe needed for their 2-minute
// idle timeout (code audit).
func (l *capped) acceptRetrying() (net.Conn, error) {
	wait := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			l.fault.accepted(l.log)
			return c, nil
		}
		if !outOfResources(err) {
			return nil, err
		}
		l.fault.failed(err, l.log)
		if l.waiting.evictOldest(time.Now()) == 0 {
			wait = 5 * time.Millisecond // one is closing: try again soon
		}
		select {
		case <-l.done:
			return nil, net.ErrClosed
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
