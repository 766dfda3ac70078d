package admin

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/identity"
)

// The identity metrics (IDENTITY.md).
const (
	MetricCredentials         = "cliser_credentials"
	MetricCredentialsResident = "cliser_credentials_resident_bytes"
	MetricBansActive          = "cliser_bans_active"
	MetricFlappingBans        = "cliser_flapping_bans_total"
	MetricIdentityStoreErrors = "cliser_identity_store_errors_total"
	MetricIdentityAbandoned   = "cliser_identity_writes_abandoned_total"
	MetricExpiriesPending     = "cliser_identity_expiries_pending"
)

// WatchIdentity adds the identity gauges and counters, read from ids when
// scraped. Call it once, from any goroutine.
func (m *Metrics) WatchIdentity(ids *identity.Service) {
	m.prom.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricCredentials,
			Help: "Client IDs with a credential (a secret of their own).",
		}, func() float64 { return float64(ids.CredentialCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricCredentialsResident,
			Help: "Resident bytes of the credentials' table (outside the Go heap): what holding them costs in RSS. NaN where it cannot be read (mincore: Linux only).",
		}, func() float64 { return credentialBytes(ids) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricFlappingBans,
			Help: "Flapping bans this node started (--flap-limit registrations within --flap-window).",
		}, func() float64 { return float64(ids.FlappingBans()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricIdentityStoreErrors,
			Help: "Writes of credentials and bans to the store that failed.",
		}, func() float64 { return float64(ids.StoreErrors()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricIdentityAbandoned,
			Help: "Operators' writes of credentials and bans not made: their request ended while they waited behind slower writes, or they were queued while the store failed a write.",
		}, func() float64 { return float64(ids.AbandonedWrites()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricExpiriesPending,
			Help: "Ended bans whose delete from the store (and so whose ban.deleted) waits: the store failed it and it is tried again.",
		}, func() float64 { return float64(ids.PendingExpiries()) }),
		&bansCollector{ids: ids, desc: prometheus.NewDesc(MetricBansActive,
			"Active bans by kind (cid, ip, net).", []string{"kind"}, nil)},
	)
}

// bansCollector reads the ban counts once per scrape for every kind.
type bansCollector struct {
	ids  *identity.Service
	desc *prometheus.Desc
}

func (c *bansCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *bansCollector) Collect(ch chan<- prometheus.Metric) {
	_, bans := c.ids.Counts()
	for _, k := range identity.Kinds() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(bans[k]), k)
	}
}

// credentialBytes is ids' credential table's resident bytes; NaN, which
// the scrape shows as such, when they cannot be read.
func credentialBytes(ids *identity.Service) float64 {
	b, err := ids.CredentialBytes()
	if err != nil {
		return math.NaN()
	}
	return float64(b)
}
