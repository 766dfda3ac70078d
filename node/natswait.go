package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/natsurl"
	"github.com/cliser/cliser/internal/prom"
)

// Metric names of the wait for NATS at start (docs/cluster.md).
const (
	MetricClusterNATSWaiting       = "cliser_cluster_nats_waiting"
	MetricClusterNATSStartFailures = "cliser_cluster_nats_start_failures_total"
)

// Paces of the wait: an attempt every natsRetry (nats.go's reconnects
// after the join go at the same pace), a line every natsWaitLogPace.
const (
	natsRetry       = time.Second
	natsWaitLogPace = 30 * time.Second
)

// natsWait is a cluster node's wait for NATS at start. Pods start in any
// order, and one that exited for want of NATS went into a back-off that
// grows to minutes, keeping the fleet down long after NATS came up.
// Meanwhile the admin listener answers (admin.Standby: /readyz 503 says
// why), the protocol port stays shut (no client may register before the
// node id is claimed and its earlier run's sessions are marked), one
// warning says so, one line every logPace says how long, and
// MetricClusterNATSWaiting is 1. A server that answers and refuses the
// node (its credentials, TLS) ends the start: waiting would not mend
// that. (nats.go gives the last server's answer of a try, so with some
// servers down it may take a few tries.) Once NATS answers, the same wait covers its JetStream until
// the node has joined (jswait.go).
type natsWait struct {
	urls     string   // the --cluster list without user info
	secrets  []string // its passwords and tokens, scrubbed from errors
	log      *zap.Logger
	retry    time.Duration
	logPace  time.Duration
	jsProbe  time.Duration // jsProbeTimeout
	waiting  prometheus.Gauge
	failures prometheus.Counter
	// jsFailures counts the joins that found JetStream not usable yet
	// (jswait.go): NATS answered, its JetStream did not.
	jsFailures prometheus.Counter

	mu        sync.Mutex
	since     time.Time // the wait's start; zero when not waiting
	lastLine  time.Time
	lastErr   string
	jetStream bool // NATS answered: the wait is for its JetStream
}

func newNATSWait(urls string, log *zap.Logger) *natsWait {
	return &natsWait{
		urls: natsurl.Strip(urls), secrets: natsurl.Secrets(urls), log: log,
		retry: natsRetry, logPace: natsWaitLogPace, jsProbe: jsProbeTimeout,
		waiting: prom.Gauge(MetricClusterNATSWaiting,
			"1 while this node waits at start for NATS to answer, or for its JetStream to be usable "+
				"(the protocol port is not open yet); 0 once it joined."),
		failures: prom.Counter(MetricClusterNATSStartFailures,
			"Attempts of this node to reach NATS at start that no server answered."),
		jsFailures: prom.Counter(MetricClusterJetStreamStartFailures,
			"Attempts of this node to join at start that NATS answered but its JetStream could not serve yet "+
				"(no meta leader, no quorum, too few servers up for the replicas)."),
	}
}

// collectors are the wait's metrics: on the standby's /metrics during the
// wait, and on the node's after it.
func (w *natsWait) collectors() []prometheus.Collector {
	return []prometheus.Collector{w.waiting, w.failures, w.jsFailures}
}

// gatherer serves the wait's metrics on the standby's /metrics.
func (w *natsWait) gatherer() prometheus.Gatherer {
	r := prometheus.NewRegistry()
	r.MustRegister(w.collectors()...)
	return r
}

// why is /readyz's reason while the admin API is not up yet.
func (w *natsWait) why() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.since.IsZero():
		return "not accepting clients: starting"
	case w.jetStream:
		return "cluster: NATS answers, waiting for JetStream: " + w.lastErr
	}
	return fmt.Sprintf("cluster: waiting for NATS at %s: %s", w.urls, w.lastErr)
}

// connect dials NATS until a server answers, ctx ends (ctx.Err()), or the
// answer is an error other than none (unanswered); dial is one attempt.
func (w *natsWait) connect(ctx context.Context, dial func() (*natsLink, error)) (*natsLink, error) {
	defer w.end()
	for attempt := 1; ; attempt++ {
		link, err := dialWithin(ctx, dial)
		switch {
		case err == nil:
			w.joined(attempt)
			return link, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !unanswered(err):
			return nil, err
		}
		w.failed(err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(w.retry):
		}
	}
}

// dialWithin is dial, given up when ctx ends: a dial to a server that does
// not answer takes up to nats.go's 2 s timeout a URL, and a stop during
// the wait should not. A connection that comes after is closed.
func dialWithin(ctx context.Context, dial func() (*natsLink, error)) (*natsLink, error) {
	type result struct {
		link *natsLink
		err  error
	}
	got := make(chan result, 1)
	go func() {
		link, err := dial()
		got <- result{link, err}
	}()
	select {
	case r := <-got:
		return r.link, r.err
	case <-ctx.Done():
		go func() {
			if r := <-got; r.link != nil {
				r.link.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// failed counts an attempt no server answered, and logs the first of a
// wait and then one a logPace.
func (w *natsWait) failed(err error) {
	w.failures.Inc()
	w.note(err, false, "cluster: NATS does not answer; waiting for it (the protocol port opens once this node has joined)",
		"cluster: still waiting for NATS")
}

// note keeps err (scrubbed) for why, and logs first when a wait begins,
// then still once a logPace; jetStream: the wait is for JetStream.
func (w *natsWait) note(err error, jetStream bool, first, still string) {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = w.scrub(err)
	switch {
	case w.since.IsZero():
		w.since, w.lastLine, w.jetStream = now, now, jetStream
		w.waiting.Set(1)
		w.log.Warn(first, zap.String("nats", w.urls), zap.String("error", w.lastErr), zap.Duration("retry", w.retry))
	case now.Sub(w.lastLine) >= w.logPace:
		w.lastLine = now
		w.log.Warn(still, zap.String("nats", w.urls),
			zap.Duration("waited", now.Sub(w.since).Round(time.Second)), zap.String("error", w.lastErr))
	}
}

// joined says that a wait, if there was one, ended in a join.
func (w *natsWait) joined(attempts int) { w.ended("cluster: NATS answered; joining", attempts) }

// ended logs msg if a wait is on: it ended after attempts.
func (w *natsWait) ended(msg string, attempts int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.since.IsZero() {
		w.log.Info(msg, zap.String("nats", w.urls),
			zap.Duration("waited", time.Since(w.since).Round(time.Millisecond)), zap.Int("attempts", attempts))
	}
}

// end ends a wait, joined or not (a stop, a refusal).
func (w *natsWait) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.since = time.Time{}
	w.waiting.Set(0)
}

// scrub is err's text without the URLs' secrets (a dial error may quote
// what it dialled). A parse error quotes its whole URL, whose secret
// Secrets could not find in it: none of its text is shown.
func (w *natsWait) scrub(err error) string {
	if parse := (*url.Error)(nil); errors.As(err, &parse) {
		return "a URL does not parse (not shown: it may hold a password or a token)"
	}
	return natsurl.Scrub(err.Error(), w.secrets)
}

// unanswered: err says no NATS server answered (none listening, a name
// that does not resolve yet, a dial or handshake timed out or cut off):
// worth waiting for. Anything else is an answer (a refusal, a bad option)
// and ends the start; so does a URL that cannot be dialled at all (it
// does not parse, its port is no port), although *url.Error and
// *net.AddrError are net.Errors too: waiting would not mend it.
func unanswered(err error) bool {
	if badURL(err) {
		return false
	}
	var netErr net.Error
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &netErr)
}

// badURL: err is nats.go's for a --cluster URL that does not parse, or
// whose port is no port (nats://host:99999).
func badURL(err error) bool {
	var (
		parse *url.Error
		addr  *net.AddrError
	)
	return errors.As(err, &parse) || errors.As(err, &addr)
}

// refusal says what to fix when err is a NATS server's refusal, or a
// URL, that the configuration mends; "" otherwise.
func refusal(err error) string {
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
	)
	switch {
	case badURL(err):
		return "a URL in --cluster cannot be dialled: give nats://HOST:PORT with a port from 1 to 65535 " +
			`(percent-encode a password's or a token's "/", "?", "#", "%" and spaces)`
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
		errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired):
		return "NATS refused this node's credentials: correct the user and password (nats://USER:PASSWORD@HOST:PORT) " +
			"or the token (nats://TOKEN@HOST:PORT) in --cluster, or NATS's authorization"
	case errors.Is(err, nats.ErrSecureConnRequired):
		return "NATS wants TLS: give tls://HOST:PORT in --cluster"
	case errors.Is(err, nats.ErrSecureConnWanted):
		return "NATS offers no TLS: give nats://HOST:PORT in --cluster, or turn TLS on in NATS"
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host):
		return "this node does not trust NATS's TLS certificate: give NATS a certificate for the host name in --cluster, " +
			"signed by a CA this host trusts (the system's, or one in SSL_CERT_FILE)"
	}
	return ""
}
