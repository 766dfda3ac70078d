package admin

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/cliser/cliser/internal/loggate"
)

// MetricAdminRequests counts the API's answers by status code;
// MetricAdminGuardRefused the requests the browser guard refused, by
// cause. Only 401s and 429s were counted: a page on another site probing
// the API, or a scraper calling it by a name left out of
// --admin-allowed-hosts, went unseen (admin audit).
const (
	MetricAdminRequests     = "cliser_admin_requests_total"
	MetricAdminGuardRefused = "cliser_admin_guard_refused_total"
)

// The guard's causes: a foreign Host, a foreign Origin (or Sec-Fetch-Site),
// a browser's body that is not JSON.
const (
	causeHost        = "host"
	causeOrigin      = "origin"
	causeContentType = "content type"
)

// guardLogEvery is the most often one cause's refusal is logged.
const guardLogEvery = time.Minute

// answers counts and logs what the API answered. Safe for concurrent use.
type answers struct {
	byCode  *prometheus.CounterVec
	refused *prometheus.CounterVec
	gates   map[string]*loggate.Gate // one per cause; the map is not written after newAnswers
	log     *zap.Logger
}

func newAnswers(m *Metrics, log *zap.Logger) *answers {
	a := &answers{
		byCode: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAdminRequests,
			Help: "Admin API answers by HTTP status code (a stream or a long-poll counts when it ends)."}, []string{"code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: MetricAdminGuardRefused,
			Help: "Admin API requests refused as a browser's from elsewhere, by cause: host (not an IP, localhost or --admin-allowed-hosts), origin, content type."},
			[]string{"cause"}),
		gates: map[string]*loggate.Gate{},
		log:   log,
	}
	for _, code := range []string{"200", "400", "401", "403", "404", "503"} { // listed from the start
		a.byCode.WithLabelValues(code)
	}
	for _, c := range []string{causeHost, causeOrigin, causeContentType} {
		a.refused.WithLabelValues(c)
		a.gates[c] = &loggate.Gate{}
	}
	if m != nil {
		a.byCode = registerOrReuse(m.Registry(), a.byCode)
		a.refused = registerOrReuse(m.Registry(), a.refused)
	}
	return a
}

// counted wraps h to count its answers by code.
func (a *answers) counted(h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(a.byCode, h)
}

// guardRefused counts a refusal of the guard, and logs one a minute per
// cause with why (the Host or Origin quoted, escaped) and from where.
func (a *answers) guardRefused(r *http.Request, cause, why string) {
	a.refused.WithLabelValues(cause).Inc()
	if a.gates[cause].Open(guardLogEvery) {
		a.log.Warn("admin API refused a request as a browser's from elsewhere (one line a minute per cause; "+
			MetricAdminGuardRefused+" counts them all)", zap.String("cause", cause), zap.String("reason", why),
			zap.String("remote", remoteIP(r)))
	}
}
