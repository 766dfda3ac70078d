package registry

import "strings"

// Status filters a listing.
type Status uint8

// The statuses a listing can ask for.
const (
	StatusAll Status = iota
	StatusConnected
	StatusDisconnected
)

// ParseStatus reads "all", "connected", "disconnected"; "" means all.
func ParseStatus(s string) (Status, bool) {
	switch s {
	case "", "all":
		return StatusAll, true
	case "connected":
		return StatusConnected, true
	case "disconnected":
		return StatusDisconnected, true
	}
	return StatusAll, false
}

// Match says whether a record that is (or is not) connected passes s.
func (s Status) Match(connected bool) bool {
	switch s {
	case StatusConnected:
		return connected
	case StatusDisconnected:
		return !connected
	}
	return true
}

// Query asks for one page of records, in client-ID order.
type Query struct {
	Status Status
	After  string // the cursor: the last cid of the previous page; "" starts at the top
	Limit  int    // at most this many records; <= 0 means DefaultPageLimit
	// Prefix keeps only client IDs that start with it: a range scan of
	// the cid order from Prefix to the first cid past it.
	Prefix string
}

// From is where a scan of q starts in cid order: the cursor, or the
// prefix when it sorts later.
func (q Query) From() string { return max(q.After, q.Prefix) }

// Past says whether cid, reached in ascending order, is beyond q's prefix,
// so the scan can stop.
func (q Query) Past(cid string) bool { return !strings.HasPrefix(cid, q.Prefix) }

// Page limits.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// Page is one page of a listing. Next is the cursor of the following page,
// "" when this page is the last. Records are ordered by cid, so a client
// joining or leaving between two pages never shifts the others: each record
// present throughout shows up exactly once.
type Page struct {
	Records []Record
	Next    string
}

// PageLimit is q's limit as a page takes it: DefaultPageLimit when none
// is given, at most MaxPageLimit.
func (q Query) PageLimit() int {
	if q.Limit <= 0 {
		return DefaultPageLimit
	}
	return min(q.Limit, MaxPageLimit)
}

// List returns one page. It holds the lock for O(log n + scanned) steps.
func (r *Registry) List(q Query) Page {
	r.mu.Lock()
	defer r.mu.Unlock()
	entries, more := SelectPage(q,
		func(from string, visit func(*entry) bool) { r.byCID.AscendGreaterOrEqual(&entry{cid: from}, visit) },
		func(e *entry) (string, bool) { return e.cid, e.cstatus })
	page := Page{Records: make([]Record, 0, len(entries))}
	for _, e := range entries {
		page.Records = append(page.Records, r.record(e))
	}
	if more {
		page.Next = entries[len(entries)-1].cid
	}
	return page
}

// SelectPage is the one implementation of a page's rules, for every
// cid-ordered set of records (the registry, the cluster's index): ascend
// walks the set in cid order from a cid on, calling visit until it says
// stop; key gives an item's cid and whether it is connected. It returns
// the items of q's page and whether more follow (then the last item's cid
// is the next cursor). The cursor is exclusive, the prefix bounds the
// walk, the limit is q.PageLimit. The caller holds whatever lock the set
// needs.
func SelectPage[T any](q Query, ascend func(from string, visit func(T) bool), key func(T) (cid string, connected bool)) (items []T, more bool) {
	limit := q.PageLimit()
	items = make([]T, 0, min(limit, 64))
	ascend(q.From(), func(it T) bool {
		cid, connected := key(it)
		if q.Past(cid) {
			return false
		}
		if cid == q.After || !q.Status.Match(connected) {
			return true
		}
		if len(items) == limit {
			more = true
			return false
		}
		items = append(items, it)
		return true
	})
	return items, more
}
