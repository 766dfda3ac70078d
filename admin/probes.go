package admin

import (
	"maps"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// The probes: /healthz follows the protocol engine (WithLive), /readyz the
// intake (WithReady) and what else must hold before clients are sent here
// (WithReadyCheck: the registry's store, identity), and says in its body
// what ails the rest (WithHealthNote). Neither wants a token (auth.go).

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

// WithReadyCheck makes /readyz answer 503 with check's error while it has
// one: the registry's store cannot be written (registry.Registry.StoreErr:
// a crash would lose it all), or identity does not enforce every ban it
// knows of (identity.Service.ReadyErr). Unlike WithReady, it leaves the
// admin's commands working: the protocol engine still serves clients.
// Checks are asked in the order given; the first error is the answer.
func WithReadyCheck(check func() error) Option {
	return func(o *options) { o.readyChecks = append(o.readyChecks, check) }
}

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

// handleReadyz answers from one Health: its verdict and, ready or not, its
// notes (an event log that cannot write matters most when something else
// is wrong too). With admin tokens set, the notes are left to
// GET /v1/health, behind the token: /readyz answers anyone, and a note
// names what the token keeps to operators (the webhook's URL, whose path
// is the secret of many receivers; the data dir's files).
func (a *API) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	h := a.Health()
	status, body := http.StatusOK, map[string]string{"status": "ready"}
	if !h.Ready {
		status, body = http.StatusServiceUnavailable, map[string]string{"error": h.Error}
	}
	if a.opts.tokens.Len() == 0 {
		maps.Copy(body, h.Notes)
	}
	writeJSON(w, status, body)
}

func (a *API) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.Health())
}

// Health is GET /v1/health: /readyz's verdict and notes, answered 200 so
// that the dashboard can show them on every view (a browser logs each
// 503 it is answered as a failed request). Safe from any goroutine.
func (a *API) Health() HealthResponse {
	h := HealthResponse{Ready: true}
	note := func(key string, err error) {
		if err != nil {
			if h.Notes == nil {
				h.Notes = map[string]string{}
			}
			h.Notes[key] = err.Error()
		}
	}
	for _, n := range a.opts.notes {
		note(n.key, n.check())
	}
	if l := a.listener.Load(); l != nil {
		note("admin", l.fault.note())
	}
	// A full disk is usually the event log's trouble too: the notes stay
	// beside the error.
	if why := a.unready(); why != "" {
		h.Ready, h.Error = false, why
	}
	return h
}

// unready is why /readyz answers 503, "" while it answers 200: the one
// verdict of Health and the cliser_ready gauge. Safe from any goroutine.
func (a *API) unready() string {
	if !a.Ready() {
		return "not accepting clients: starting or draining"
	}
	if err := a.readyErr(); err != nil {
		return err.Error()
	}
	return ""
}

// MetricReady is /readyz's verdict as a gauge: an alert on a 503 needed
// a probe of its own (the blackbox exporter) beside the scrape.
const MetricReady = "cliser_ready"

const helpReady = "1 while GET /readyz answers 200 (accepting clients, and every ready check passes), else 0."

// readyGauge is MetricReady, read at each scrape as /readyz reads it.
func (a *API) readyGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: MetricReady, Help: helpReady}, func() float64 {
		if a.unready() == "" {
			return 1
		}
		return 0
	})
}

// readyErr is the first ready check's error, if any.
func (a *API) readyErr() error {
	for _, check := range a.opts.readyChecks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}
