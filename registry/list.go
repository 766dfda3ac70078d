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

func (s Status) match(connected bool) bool {
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

// List returns one page. It holds the lock for O(log n + scanned) steps.
func (r *Registry) List(q Query) Page {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageLimit
	}
	limit = min(limit, MaxPageLimit)
	page := Page{Records: make([]Record, 0, min(limit, 64))}
	more := false
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byCID.AscendGreaterOrEqual(&entry{cid: q.From()}, func(e *entry) bool {
		if q.Past(e.cid) {
			return false
		}
		if e.cid == q.After || !q.Status.match(e.cstatus) {
			return true
		}
		if len(page.Records) == limit {
			more = true
			return false
		}
		page.Records = append(page.Records, e.record(r.opts.node))
		return true
	})
	if more {
		page.Next = page.Records[len(page.Records)-1].CID
	}
	return page
}
