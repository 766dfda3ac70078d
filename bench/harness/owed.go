package harness

import (
	"context"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/webhook"
)

// The settles (burst_settle.go, hold_rounds.go) wait until a cliser owes
// its connects nothing: registry records not yet written, events not yet
// in the log or not yet posted. The queue's gauge and the webhook's lag
// alone missed the events the log's writer had taken from its queue but not
// yet committed (the lag counts from the newest committed event; a
// single node's gauge now holds them, a cluster's does not): right
// after a shutdown of 19,000 both read 0 while 1,703 of its 76,000 events
// were still to be posted (session 21). While the webhook delivers, an
// event is owed from its emit until it is posted or given up on.

// backlog is what the cliser whose /metrics page is at url still owes
// (owedOf); 0 for a server that serves none of it.
func backlog(ctx context.Context, url string) (float64, error) {
	pg, err := scrapeProm(ctx, url)
	if err != nil {
		return 0, err
	}
	return owedOf(pg), nil
}

// owedOf is the writes page pg's server still owes: its records not yet
// written, and its events still queued or, while its webhook delivers,
// emitted and neither posted nor dropped.
func owedOf(pg promPage) float64 {
	evs := pg.sum(events.MetricQueued) + pg.sum(webhook.MetricLag)
	if pg.sum(webhook.MetricDelivering) > 0 {
		// The log counts an event once stored (a cluster's as its writer
		// takes it); the queue's gauge holds the rest, those being written too.
		emitted := pg.sum(events.MetricEvents) + pg.sum(events.MetricQueued)
		notPosted := emitted - pg.sum(webhook.MetricDelivered) - pg.sum(webhook.MetricDropped)
		evs = max(evs, notPosted)
	}
	return pg.sum(admin.MetricRegistryPendingWrites) + evs
}
