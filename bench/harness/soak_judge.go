package harness

import "fmt"

// SoakSample is one look at the server during a soak.
type SoakSample struct {
	At  float64 `json:"t_s"` // seconds since the churn started
	RSS int64   `json:"rss_bytes"`
	// RSSAnon and RSSFile split RSS: the heap and stacks, and file pages
	// mapped: the binary's code as it is paged in, and bbolt's data file.
	RSSAnon    int64 `json:"rss_anon_bytes"`
	RSSFile    int64 `json:"rss_file_bytes"`
	HeapInuse  int64 `json:"heap_inuse_bytes"` // go_memstats_heap_inuse_bytes
	DataBytes  int64 `json:"data_dir_bytes"`   // the server's --data-dir on disk (bbolt's file)
	Goroutines int   `json:"goroutines"`
	FDs        int   `json:"fds"`
	Connected  int   `json:"clients_connected"`
	ChurnOps   int64 `json:"churn_ops"` // done so far

	// With the soak's features (soakSampler.sampleFeatures):
	EventsBytes      int64 `json:"events_db_bytes,omitempty"`          // events.db on disk
	EventsNewest     int64 `json:"events_newest_seq,omitempty"`        // cliser_events_newest_seq: events logged so far
	EventsDropped    int64 `json:"events_dropped,omitempty"`           // by the log's queue and by the webhook
	WebhookLag       int64 `json:"webhook_lag_events,omitempty"`       // cliser_webhook_lag_events
	WebhookDelivered int64 `json:"webhook_delivered_events,omitempty"` // cliser_webhook_events_delivered_total
	Credentials      int64 `json:"credentials,omitempty"`              // cliser_credentials
	BansActive       int64 `json:"bans_active,omitempty"`              // cliser_bans_active, every kind
	FlappingBans     int64 `json:"flapping_bans,omitempty"`            // cliser_flapping_bans_total
}

// SoakLimits are what "flat" means: growth from the first to the last
// quarter of the samples taken after the warm-up.
type SoakLimits struct {
	// WarmupFraction of the samples is left out: the allocator and the
	// GC find their working size while the churn starts.
	WarmupFraction float64 `json:"warmup_fraction"`
	// RSSGrowth bounds the anonymous RSS (heap, stacks: what a leak in the
	// server grows), a fraction: 0.10 is 10%. The file-backed part, the
	// binary's code paged in and bbolt's mapped data file, is reported,
	// not judged.
	RSSGrowth      float64 `json:"max_rss_anon_growth"`
	GoroutineSlack float64 `json:"max_goroutines_growth"` // goroutines
	FDSlack        float64 `json:"max_fds_growth"`        // descriptors

	// With the soak's features (JudgeSoak). EventsGrowth bounds events.db
	// once the log holds its retention (it then deletes as it appends): the
	// first quarter of the judged samples taken from then on against the
	// last, a fraction.
	EventsGrowth float64 `json:"max_events_db_growth,omitempty"`
	// LagSlack bounds the webhook's lag: events, last quarter against first.
	LagSlack float64 `json:"max_webhook_lag_growth,omitempty"`
	// CredentialSlack bounds the credentials held: each churn operation in
	// flight holds at most one of its own.
	CredentialSlack float64 `json:"max_credentials_growth,omitempty"`
}

// DefaultSoakLimits for a soak of clients connections: the fd slack allows
// for the churn operations in flight at the moment of a sample.
func DefaultSoakLimits(clients int) SoakLimits {
	return SoakLimits{WarmupFraction: 0.2, RSSGrowth: 0.10, GoroutineSlack: 5, FDSlack: float64(max(20, clients/100)),
		EventsGrowth: 0.10, LagSlack: 1000, CredentialSlack: churnInFlight}
}

// Flatness is the judge's verdict.
type Flatness struct {
	Flat    bool     `json:"flat"`
	Reasons []string `json:"reasons,omitempty"` // why not, one a limit
	Judged  int      `json:"samples_judged"`
	// The means of the first and the last quarter of the judged samples
	// (RSS: the anonymous part).
	RSSFirst, RSSLast               float64
	GoroutinesFirst, GoroutinesLast float64
	FDsFirst, FDsLast               float64

	// With the soak's features (JudgeSoak): events.db's quarters of the
	// judged samples taken at the log's retention (EventsJudged of them),
	// the webhook's lag and the credentials held.
	EventsJudged                      int     `json:",omitempty"`
	EventsFirst, EventsLast           float64 `json:",omitempty"`
	LagFirst, LagLast                 float64 `json:",omitempty"`
	CredentialsFirst, CredentialsLast float64 `json:",omitempty"`
}

// minJudged is the fewest samples after the warm-up that have two
// distinct quarters to compare.
const minJudged = 4

// JudgeFlatness compares the mean of the first quarter of the samples
// after the warm-up with the mean of the last quarter. It is a pure
// function of its inputs.
func JudgeFlatness(samples []SoakSample, lim SoakLimits) Flatness {
	skip := int(float64(len(samples)) * lim.WarmupFraction)
	judged := samples[skip:]
	v := Flatness{Judged: len(judged)}
	if len(judged) < minJudged {
		v.Reasons = []string{fmt.Sprintf("too few samples after the warm-up: %d, want at least %d", len(judged), minJudged)}
		return v
	}
	q := len(judged) / 4
	first, last := judged[:q], judged[len(judged)-q:]
	mean := func(s []SoakSample, f func(SoakSample) float64) float64 {
		var sum float64
		for _, x := range s {
			sum += f(x)
		}
		return sum / float64(len(s))
	}
	rss := func(s SoakSample) float64 { return float64(s.RSSAnon) }
	gor := func(s SoakSample) float64 { return float64(s.Goroutines) }
	fds := func(s SoakSample) float64 { return float64(s.FDs) }
	v.RSSFirst, v.RSSLast = mean(first, rss), mean(last, rss)
	v.GoroutinesFirst, v.GoroutinesLast = mean(first, gor), mean(last, gor)
	v.FDsFirst, v.FDsLast = mean(first, fds), mean(last, fds)
	if v.RSSFirst > 0 && (v.RSSLast-v.RSSFirst)/v.RSSFirst >= lim.RSSGrowth {
		v.Reasons = append(v.Reasons, fmt.Sprintf("anonymous RSS grew %.1f%% (limit %.0f%%)",
			100*(v.RSSLast-v.RSSFirst)/v.RSSFirst, 100*lim.RSSGrowth))
	}
	if v.GoroutinesLast-v.GoroutinesFirst >= lim.GoroutineSlack {
		v.Reasons = append(v.Reasons, fmt.Sprintf("goroutines grew by %.1f (limit %.0f)",
			v.GoroutinesLast-v.GoroutinesFirst, lim.GoroutineSlack))
	}
	if v.FDsLast-v.FDsFirst >= lim.FDSlack {
		v.Reasons = append(v.Reasons, fmt.Sprintf("open fds grew by %.1f (limit %.0f)",
			v.FDsLast-v.FDsFirst, lim.FDSlack))
	}
	v.Flat = len(v.Reasons) == 0
	return v
}
