package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Server is the API on its own HTTP listener.
type Server struct {
	http *http.Server
	addr string
	done chan error
	api  *API

	stopOnce sync.Once
	stopErr  error
}

// Listen binds addr and serves the API in the background; it returns once
// the listener is bound, so a caller that passes port 0 can read Addr.
func (a *API) Listen(addr string) (*Server, error) {
	ln, err := listen(addr)
	if err != nil {
		return nil, err
	}
	return a.serve(ln), nil
}

// listen binds addr as --listen does (reactor's pinAddr): an IPv4 host,
// 0.0.0.0 among them, is IPv4 alone. Go's "tcp" binds 0.0.0.0 on every
// IPv6 address too, so an admin API an operator kept to IPv4 answered on
// IPv6 as well (audit).
func listen(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}

// Take serves the API on the standby's HTTP server, which stops
// answering as the standby: requests read from then on get the API, and
// the port never refuses or drops a connection in between. The standby's
// cap keeps counting what it holds, now in the API's metrics.
func (a *API) Take(s *Standby) (*Server, error) {
	if !s.taken.CompareAndSwap(false, true) {
		return nil, errStandbyGone
	}
	a.adopt(s.capped)
	srv := a.newServer(s.http, s.Addr(), s.done)
	s.handler.set(a.Handler())
	s.api.stopAuthLog()
	return srv, nil
}

// serve serves the API on ln in the background.
func (a *API) serve(ln net.Listener) *Server {
	capped := a.limit(ln)
	a.adopt(capped)
	hs := a.httpServer(a.Handler(), capped)
	done := make(chan error, 1)
	s := a.newServer(hs, ln.Addr().String(), done)
	go func() {
		err := hs.Serve(capped)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			// Said when it happens, not at the stop: the protocol serves
			// on, but the API, metrics and probes are gone (a failing
			// /healthz has a supervisor restart the process).
			a.opts.log.Error("admin: the HTTP listener stopped; the admin API, metrics and probes no longer answer",
				zap.String("admin", s.addr), zap.Error(err))
		}
		done <- err
	}()
	return s
}

// newServer is the API's Server over hs, whose Serve ends into done.
func (a *API) newServer(hs *http.Server, addr string, done chan error) *Server {
	s := &Server{http: hs, addr: addr, done: done, api: a}
	hs.RegisterOnShutdown(a.endWaits)
	hs.RegisterOnShutdown(a.stopStreams)
	a.statsOnce.Do(func() {
		a.serveNodeStats()
		go func() {
			defer close(a.statsDone)
			a.stats.run(a.streamsCtx)
		}()
	})
	return s
}

// httpServer is the admin listener's HTTP server for h on capped.
func (a *API) httpServer(h http.Handler, capped *capped) *http.Server {
	return &http.Server{
		Handler:     h,
		ConnState:   capped.waiting.connState,
		ConnContext: withConn,
		// Timeouts so a slow or idle peer cannot hold the admin
		// listener's goroutines forever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(a.opts.log.Named("admin.http")),
	}
}

// Addr is the bound address (host:port, with the real port). Safe from any
// goroutine.
func (s *Server) Addr() string { return s.addr }

// Shutdown stops accepting, lets requests in flight finish until ctx ends,
// then closes what is left. Safe from any goroutine; later calls return
// the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		err := s.http.Shutdown(ctx)
		if err != nil {
			_ = s.http.Close()
		}
		s.stopErr = errors.Join(err, <-s.done)
		a := s.api
		a.endWaits() // also when Shutdown ran before any request
		a.stopStreams()
		<-a.statsDone
		a.stopAuthLog()
	})
	return s.stopErr
}
