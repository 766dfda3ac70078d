package cluster

import (
	"github.com/cliser/cliser/registry"
)

// withOwn is a stale page (NATS away) with this node's registry merged
// in: the index holds only what reached the bucket, so a client that
// registered here during the outage would be missing from this node's own
// list while its GET found it (docs/cluster.md promises "its own clients
// as its registry holds them now"). Both pages are q's without its status
// filter, in cid order, so the merge is a page too: where both have a
// cid, the registry's record wins while it is connected (a registration
// here is newer than anything the index saw), else the index's (the
// client may have moved since); then q's status filter. The cursor is
// the lowest of the sources' own cursors, so neither skips a cid;
// records past it come again on the next page and are cut here. A page
// may be short, as a fresh one may (list).
func withOwn(q registry.Query, idx, own registry.Page) registry.Page {
	a, b := idx.Records, own.Records
	merged := make([]registry.Record, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].CID < b[0].CID:
			merged, a = append(merged, a[0]), a[1:]
		case len(a) == 0 || b[0].CID < a[0].CID:
			merged, b = append(merged, b[0]), b[1:]
		default:
			pick := a[0]
			if b[0].CStatus {
				pick = b[0]
			}
			merged, a, b = append(merged, pick), a[1:], b[1:]
		}
	}
	next := ""
	for _, c := range []string{idx.Next, own.Next} {
		if c != "" && (next == "" || c < next) {
			next = c
		}
	}
	if limit := q.PageLimit(); len(merged) > limit && (next == "" || merged[limit-1].CID < next) {
		next = merged[limit-1].CID
	}
	if next != "" {
		cut := len(merged)
		for cut > 0 && merged[cut-1].CID > next {
			cut--
		}
		merged = merged[:cut]
	}
	kept := merged[:0]
	for _, r := range merged {
		if q.Status.Match(r.CStatus) {
			kept = append(kept, r)
		}
	}
	return registry.Page{Records: kept, Next: next}
}
