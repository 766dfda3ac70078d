package admin

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cliser/cliser/registry"
)

// The registry's write-behind, as operators see it (docs/operations.md).
const (
	MetricRegistryFlushFailures = "cliser_registry_flush_failures_total"
	MetricRegistryPendingWrites = "cliser_registry_pending_writes"
)

// storeCollectors read the write-behind's health when scraped.
func storeCollectors(reg *registry.Registry) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: MetricRegistryFlushFailures,
			Help: "Flushes of the registry to its store that failed (each batch is kept and retried).",
		}, func() float64 { return float64(reg.StoreHealth().Failures) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricRegistryPendingWrites,
			Help: "Records and deletions of the registry not yet written to its store.",
		}, func() float64 { return float64(reg.StoreHealth().Pending) }),
	}
}
