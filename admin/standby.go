package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handOverWait bounds the wait for the standby's requests in flight when
// the API takes its listener over; a probe takes milliseconds.
const handOverWait = 2 * time.Second

// Standby answers on the admin address while the node behind it can not
// serve the API yet (a cluster node that waits for NATS at start): the
// API needs the registry, which needs the node's store. /healthz is 200
// (the process is alive: a supervisor must not restart it for waiting),
// /readyz 503 saying why, /metrics what the wait counts, and every other
// path 503 with the same reason. The token, the Host guard, the headers
// and the connection cap apply as on the API. API.Take then serves the
// API on the same socket.
type Standby struct {
	api  *API // bare: its options and the auth limiter, no registry
	raw  *net.TCPListener
	http *http.Server
	done chan error

	once sync.Once
	ln   net.Listener // for Take; nil once closed
	err  error
}

// ListenStandby binds addr and answers there until API.Take or Close. why
// says why the node is not ready yet; metrics is what /metrics serves
// (nil: 404). opts are the API's (WithToken, WithLogger, the guard's,
// WithMaxConns); the others are ignored.
func ListenStandby(addr string, why func() string, metrics prometheus.Gatherer, opts ...Option) (*Standby, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.metrics = nil // the API's; the standby's cap is not counted
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	raw, ok := ln.(*net.TCPListener)
	if !ok {
		_ = ln.Close()
		return nil, fmt.Errorf("admin listen %s: not a TCP listener", addr)
	}
	a := &API{opts: o}
	capped := a.limit(kept{raw})
	s := &Standby{api: a, raw: raw, done: make(chan error, 1)}
	s.http = a.httpServer(withHeaders(guard(o.allowedHosts, a.authenticate(standbyMux(why, metrics)))), capped)
	go func() { s.done <- s.http.Serve(capped) }()
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
	if metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "not serving the API yet: " + why()})
	})
	return mux
}

// Addr is the bound address (host:port, with the real port).
func (s *Standby) Addr() string { return s.raw.Addr().String() }

// Close stops the standby and closes its listener; after API.Take it does
// nothing. Safe from any goroutine.
func (s *Standby) Close() error {
	ln, err := s.handOver()
	if errors.Is(err, errStandbyGone) {
		return nil
	}
	if ln != nil {
		err = errors.Join(err, ln.Close())
	}
	return err
}

// handOver stops answering and returns the listener, still bound; once
// only: a second call (Take after Close, or Close after Take) fails.
func (s *Standby) handOver() (net.Listener, error) {
	first := false
	s.once.Do(func() {
		first = true
		ctx, cancel := context.WithTimeout(context.Background(), handOverWait)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			_ = s.http.Close()
		}
		<-s.done
		s.api.stopAuthLog()
		// Shutdown's "close" only moved the deadline (kept): undo it.
		s.err = s.raw.SetDeadline(time.Time{})
		s.ln = s.raw
	})
	if !first {
		return nil, errStandbyGone
	}
	return s.ln, s.err
}

var errStandbyGone = errors.New("admin: the standby's listener was already taken or closed")

// kept is the standby's listener as its HTTP server sees it: closing it
// ends a pending Accept (a deadline in the past) but leaves the socket
// bound, for the API to take over.
type kept struct{ *net.TCPListener }

func (k kept) Close() error { return k.SetDeadline(time.Now()) }
