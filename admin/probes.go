package admin

import (
	"net/http"
)

// The probes: /healthz follows the protocol engine (WithLive), /readyz the
// intake (WithReady) and the registry's store (WithStoreHealth), and says
// in its body what ails the event log (WithEventsHealth). Neither wants a
// token (auth.go).

// WithLive sets the liveness check behind /healthz
// (reactor.Server.Alive: the protocol engine runs). While it says false,
// /healthz answers 503, so a supervisor that probes it restarts a process
// whose listener is dead although its HTTP side still answers. By default
// the API is always live.
func WithLive(live func() bool) Option {
	return func(o *options) {
		if live != nil {
			o.live = live
		}
	}
}

// WithStoreHealth makes /readyz answer 503 with check's error while the
// registry's store cannot be written (registry.Registry.StoreErr): nothing
// reaches the disk then, and a crash would lose it all.
func WithStoreHealth(check func() error) Option { return func(o *options) { o.storeHealth = check } }

// WithLogHealth adds the process log's health to /readyz's body
// (logsink.Sink.Health): a log that cannot be written cannot say so
// itself. As the event log's, it does not make the server unready.
func WithLogHealth(check func() error) Option { return func(o *options) { o.logHealth = check } }

// WithEventsHealth adds the event log's health to /readyz. A failing log
// is reported in the body but does not make the server unready: clients
// are still served, the fault is counted and logged, and pulling the node
// out of a load balancer would not mend a full disk.
func WithEventsHealth(check func() error) Option { return func(o *options) { o.eventsHealth = check } }

func (a *API) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	if !a.opts.live() {
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "protocol engine stopped: this process no longer serves clients; restart it"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	if !a.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, ErrorResponse{Error: "not accepting clients: starting or draining"})
		return
	}
	if err := a.storeErr(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, a.unreadyBody(err))
		return
	}
	writeJSON(w, http.StatusOK, a.readyBody())
}

// storeErr is the store's trouble, if any.
func (a *API) storeErr() error {
	if a.opts.storeHealth == nil {
		return nil
	}
	return a.opts.storeHealth()
}

// readyBody is /readyz's 200 body: the event log's and the process log's
// trouble, when any.
func (a *API) readyBody() map[string]string {
	body := map[string]string{"status": "ready"}
	for key, check := range map[string]func() error{"events": a.opts.eventsHealth, "log": a.opts.logHealth} {
		if check == nil {
			continue
		}
		if err := check(); err != nil {
			body[key] = err.Error()
		}
	}
	return body
}

// unreadyBody is /readyz's 503 body for a store fault: the error, and the
// event log's trouble too, since a full disk is usually both's.
func (a *API) unreadyBody(err error) map[string]string {
	body := a.readyBody()
	delete(body, "status")
	body["error"] = err.Error()
	return body
}
