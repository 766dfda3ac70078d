package logstore

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// What the store's writing costs, counted: the flusher's share of a
// burst's CPU is its Saves, their bytes and fdatasyncs, and the
// compactions that fall among them (docs/performance-journal.md, session
// 18), and none of it showed anywhere before.

// Metric names (docs/operations.md).
const (
	MetricSaves            = "cliser_registry_store_saves_total"
	MetricEntries          = "cliser_registry_store_entries_total"
	MetricBytes            = "cliser_registry_store_log_bytes_total"
	MetricSyncs            = "cliser_registry_store_syncs_total"
	MetricCompactions      = "cliser_registry_store_compactions_total"
	MetricCompactedRecords = "cliser_registry_store_compacted_records_total"
	MetricLost             = "cliser_registry_store_lost_total"
	MetricCompactFailures  = "cliser_registry_store_compaction_failures_total"
)

// Stats counts the store's work since Open.
type Stats struct {
	Saves            uint64 // Saves that appended to the log
	Entries          uint64 // records and deletions appended
	Bytes            uint64 // bytes appended to the log
	Syncs            uint64 // fdatasyncs of the log by Saves
	Compactions      uint64 // snapshots written by compactions
	CompactedRecords uint64 // records those snapshots held
	Lost             uint64 // times the files were found gone from their paths or replaced (place.go)
	CompactFailures  uint64 // compactions that failed (UpkeepErr)
}

// counters are Stats, updated under s.mu and read from anywhere.
type counters struct {
	saves, entries, bytes, syncs, compactions, compacted, lost, compactFailures atomic.Uint64
}

// Stats reports the store's counts. Safe to call from any goroutine.
func (s *Store) Stats() Stats {
	c := &s.count
	return Stats{Saves: c.saves.Load(), Entries: c.entries.Load(), Bytes: c.bytes.Load(), Syncs: c.syncs.Load(),
		Compactions: c.compactions.Load(), CompactedRecords: c.compacted.Load(), Lost: c.lost.Load(),
		CompactFailures: c.compactFailures.Load()}
}

// Collectors are the store's counts as metrics, to register on the admin
// API's Prometheus registry; they are read when scraped.
func (s *Store) Collectors() []prometheus.Collector {
	c := &s.count
	counter := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		counter(MetricSaves, "Saves of the registry's changes appended to registry.log.", &c.saves),
		counter(MetricEntries, "Records and deletions appended to registry.log.", &c.entries),
		counter(MetricBytes, "Bytes appended to registry.log.", &c.bytes),
		counter(MetricSyncs, "fdatasyncs of registry.log by Saves.", &c.syncs),
		counter(MetricCompactions, "New registry.snap files written (a compaction: the log folded into the snapshot).", &c.compactions),
		counter(MetricCompactedRecords, "Records written into new registry.snap files.", &c.compacted),
		counter(MetricCompactFailures, "Compactions that failed to write a new registry.snap (a full disk, say); registry.log keeps every change meanwhile.", &c.compactFailures),
		counter(MetricLost, "Times registry.snap or registry.log was found removed from the data dir (or replaced) while open; they are then written again at their paths from the open files.", &c.lost),
	}
}
