// Package prom makes the Prometheus collectors the packages of cliser
// declare, one call a metric: each package keeps its own names and help
// texts, this keeps the option structs in one place.
package prom

import "github.com/prometheus/client_golang/prometheus"

// Counter is a counter named name with help.
func Counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// CounterVec is a counter with one label; each of values is made up front,
// so a scrape shows it at 0 before it first counts.
func CounterVec(name, help, label string, values ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	for _, val := range values {
		v.WithLabelValues(val)
	}
	return v
}

// CounterFunc is a counter that calls read when scraped: for a count
// another library keeps.
func CounterFunc(name, help string, read func() float64) prometheus.CounterFunc {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, read)
}

// Gauge is a gauge named name with help.
func Gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// GaugeFunc is a gauge that calls read when scraped.
func GaugeFunc(name, help string, read func() float64) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read)
}
