package harness

import (
	"context"

	"github.com/cliser/cliser/admin"
)

// RTTHistogram is cliser's keep-alive RTT histogram as one scrape of its
// /metrics gave it: for benches in other packages that read it over a
// window (two scrapes) rather than through a round of the harness.
type RTTHistogram struct{ h *promHistogram }

// ScrapeKeepAliveRTT reads the keep-alive RTT histogram at url (a
// /metrics page).
func ScrapeKeepAliveRTT(ctx context.Context, url string) (RTTHistogram, error) {
	pg, err := scrapeProm(ctx, url)
	if err != nil {
		return RTTHistogram{}, err
	}
	h, err := pg.histogram(admin.MetricKeepAliveRTT)
	return RTTHistogram{h}, err
}

// Since is what was observed between earlier and h.
func (h RTTHistogram) Since(earlier RTTHistogram) RTTHistogram {
	return RTTHistogram{h.h.since(earlier.h)}
}

// Quantile is the upper bound (seconds) of the bucket that holds the q-th
// observation: the true value is at or below it (NaN with none).
func (h RTTHistogram) Quantile(q float64) float64 { return h.h.quantile(q) }

// Count is how many keep-alives were answered.
func (h RTTHistogram) Count() float64 { return h.h.Count }
