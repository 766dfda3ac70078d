package testkit

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// JetStream is a NATS connection to url with JetStream, reconnecting
// without end (a test may restart the server), closed when t ends; closing
// it earlier is how a test kills a node.
func JetStream(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("nats connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Gathered is the value of the counter or gauge name among collectors
// (Metric reads a /metrics page instead), as GatheredFrom reads it.
func Gathered(t testing.TB, collectors []prometheus.Collector, name, label string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors...)
	return GatheredFrom(t, reg, name, label)
}

// GatheredFrom is the value of the counter or gauge name that g gathers,
// the first series whose first label is label ("" takes any); it fails t
// when there is none. A test that polls keeps one registry and calls this.
func GatheredFrom(t testing.TB, g prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			return valueOf(m)
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
}
