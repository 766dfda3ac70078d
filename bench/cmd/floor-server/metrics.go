package main

import (
	"errors"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cliser/cliser/bench/floor"
)

// metricRTT is cliser's name for its keep-alive RTT histogram
// (admin.MetricKeepAliveRTT): the harness reads the floor's and cliser's
// the same way, over the same bounds.
const metricRTT = "cliser_keepalive_rtt_seconds"

// rttCollector turns the floor's loop-local RTT counts into a histogram
// when /metrics is read; nothing of Prometheus runs on the loops.
type rttCollector struct {
	srv  *floor.Server
	desc *prometheus.Desc
}

func (c rttCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c rttCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.srv.KeepAliveRTT()
	cum := map[float64]uint64{}
	var n uint64
	for i, b := range r.Bounds {
		n += r.Counts[i]
		cum[b] = n
	}
	n += r.Counts[len(r.Bounds)]
	ch <- prometheus.MustNewConstHistogram(c.desc, n, r.Sum.Seconds(), cum)
}

// serveMetrics serves the floor's RTT histogram and the Go runtime's
// figures (the harness reads the heap in use at each plateau, as it does
// cliser's) at GET /metrics on addr; stop closes it.
func serveMetrics(addr string, srv *floor.Server) (stop func() error, err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(rttCollector{srv: srv, desc: prometheus.NewDesc(metricRTT,
		"Time from sending a keep-alive to its echo (the floor's, on cliser's bounds).", nil, nil)},
		collectors.NewGoCollector())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	return func() error {
		if err := hs.Close(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}, nil
}
