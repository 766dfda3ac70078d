package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/procfs"
	"github.com/cliser/cliser/webhook"
)

// soakSampler reads the server's /proc and /metrics, and with the soak's
// features the event log's file and their gauges.
type soakSampler struct {
	pid      int
	metrics  string
	dataDir  string
	features bool
}

func (s soakSampler) sample(ctx context.Context) (SoakSample, error) {
	var out SoakSample
	p, err := sampleProc(s.pid)
	if err != nil {
		return out, err
	}
	out.RSS = p.RSS
	out.RSSAnon, out.RSSFile = procfs.RSS(s.pid)
	out.DataBytes = dirBytes(s.dataDir)
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.pid))
	if err != nil {
		return out, err
	}
	out.FDs = len(fds)
	pg, err := scrapeProm(ctx, s.metrics)
	if err != nil {
		return out, err
	}
	g, err := pg.gauges("go_goroutines", admin.MetricClientsConnected, "go_memstats_heap_inuse_bytes")
	if err != nil {
		return out, err
	}
	out.Goroutines, out.Connected, out.HeapInuse = int(g[0]), int(g[1]), int64(g[2])
	if s.features {
		s.sampleFeatures(pg, &out)
	}
	return out, nil
}

// sampleFeatures fills what the features add; a metric the server does
// not have (its feature off) reads 0.
func (s soakSampler) sampleFeatures(pg promPage, out *SoakSample) {
	if fi, err := os.Stat(filepath.Join(s.dataDir, events.FileName)); err == nil {
		out.EventsBytes = fi.Size()
	}
	i := func(name string) int64 { return int64(pg.sum(name)) }
	out.EventsNewest = i(events.MetricNewestSeq)
	out.EventsDropped = i(events.MetricDropped) + i(webhook.MetricDropped)
	out.WebhookLag = i(webhook.MetricLag)
	out.WebhookDelivered = i(webhook.MetricDelivered)
	out.Credentials = i(admin.MetricCredentials)
	out.BansActive = i(admin.MetricBansActive)
	out.FlappingBans = i(admin.MetricFlappingBans)
}
