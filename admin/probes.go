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

// WithHealthNote adds check's trouble to /readyz's body under key ("log":
// logsink.Sink.Health, the process log that cannot say so itself;
// "webhook": webhook.Deliverer.Healthy). As the event log's, a note does
// not make the server unready: clients are still served.
func WithHealthNote(key string, check func() error) Option {
	return func(o *options) { o.notes = append(o.notes, healthNote{key, check}) }
}

type healthNote struct {
	key   string
	check func() error
}

// WithEventsHealth adds the event log's health to /readyz. A failing log
// is reported in the body but does not make the server unready: clients
// are still served, the fault is counted and logged, and pulling the node
// out of a load balancer would not mend a full disk.
func WithEventsHealth(check func() error) Option { return WithHealthNote("events", check) }

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

// readyBody is /readyz's 200 body: the notes' trouble (the event log's,
// the webhook's, the process log's), when any.
func (a *API) readyBody() map[string]string {
	body := map[string]string{"status": "ready"}
	for _, n := range a.opts.notes {
		if err := n.check(); err != nil {
			body[n.key] = err.Error()
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
