package admin

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Standby answers on the admin address while the node behind it can not
// serve the API yet (a node that opens its data dir, a cluster node that
// waits for NATS at start): the API needs the registry, which needs the
// node's store. /healthz is 200
// (the process is alive: a supervisor must not restart it for waiting),
// /readyz 503 saying why, /metrics what the wait counts and INTERFACE.md's
// cliser_clients_connected (0: the protocol port is shut), and every other
// path 503 with the same reason; with a dashboard (WithUI), /ui/ is a page
// that says so and reloads (standby_page.go). The token, the Host guard,
// the headers and the connection cap apply as on the API. API.Take then turns the
// same HTTP server into the API's: its handler is swapped, so no
// connection is dropped at the handover (an http.Server shut down closes
// what it accepted but had not read a request from yet).
type Standby struct {
	api     *API // bare: its options and the auth limiter, no registry
	capped  *capped
	http    *http.Server
	handler swapped
	done    chan error // Serve's end, ErrServerClosed as nil
	taken   atomic.Bool
}

// ListenStandby binds addr and answers there until API.Take or Close. why
// says why the node is not ready yet; metrics is what /metrics serves
// besides cliser_clients_connected (nil: nothing else). opts are the API's (WithToken, WithLogger, the guard's,
// WithMaxConns, WithUI); the others are ignored.
func ListenStandby(addr string, why func() string, metrics prometheus.Gatherer, opts ...Option) (*Standby, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.metrics = nil // the API's; its cap's collectors join them at Take
	ln, err := listen(addr)
	if err != nil {
		return nil, err
	}
	a := &API{opts: o, answers: newAnswers(nil, o.log)} // logged, not counted: the API's metrics come at Take
	s := &Standby{api: a, capped: a.limit(ln), done: make(chan error, 1)}
	s.handler.set(withHeaders(guard(o.allowedHosts, a.answers.guardRefused, a.withStandbyPage(why, a.authenticate(refuseBadQuery(standbyMux(why, metrics)))))))
	s.http = a.httpServer(&s.handler, s.capped)
	go func() {
		err := s.http.Serve(s.capped)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

func standbyMux(why func() string, metrics prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: why()})
	})
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, _ *http.Request) { // /readyz's verdict as a 200, as later
		writeJSON(w, http.StatusOK, HealthResponse{Error: why()})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(standbyGatherer(metrics), promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "not serving the API yet: " + why()})
	})
	return mux
}

// standbyGatherer is metrics and cliser_clients_connected, which
// INTERFACE.md promises on every /metrics: 0, as no client can be
// connected before the protocol port opens.
func standbyGatherer(metrics prometheus.Gatherer) prometheus.Gatherer {
	r := prometheus.NewRegistry()
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricClientsConnected, Help: helpClientsConnected},
		func() float64 { return 0 }))
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricReady, Help: helpReady},
		func() float64 { return 0 })) // its /readyz is 503 throughout
	if metrics == nil {
		return r
	}
	return prometheus.Gatherers{r, metrics}
}

// Addr is the bound address (host:port, with the real port). Safe from any
// goroutine.
func (s *Standby) Addr() string { return s.capped.Addr().String() }

// Close stops the standby and closes its listener; after API.Take it does
// nothing (the API's Server owns them). Safe from any goroutine.
func (s *Standby) Close() error {
	if !s.taken.CompareAndSwap(false, true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	s.api.stopAuthLog()
	return errors.Join(err, <-s.done)
}

// closeWait bounds the wait for the standby's requests in flight at its
// Close; a probe takes milliseconds.
const closeWait = 2 * time.Second

var errStandbyGone = errors.New("admin: the standby was already taken or closed")

// swapped is a handler that can be replaced while it serves. Safe for
// concurrent use.
type swapped struct{ h atomic.Pointer[http.Handler] }

func (s *swapped) set(h http.Handler) { s.h.Store(&h) }

func (s *swapped) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }
