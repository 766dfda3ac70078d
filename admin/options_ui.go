package admin

import (
	"net/http"
	"time"
)

// WithUI serves h, the dashboard (package ui), at /ui/ and redirects GET /
// there. Its files are public like the probes: the page asks for the
// token itself and sends it on every API call. Without it /ui/ is 404.
func WithUI(h http.Handler) Option { return func(o *options) { o.ui = h } }

// WithStatsInterval sets how often GET /v1/stats samples the counts
// (defaultStatsInterval); the series keeps statsHistory of them.
func WithStatsInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.statsInterval = d
		}
	}
}
