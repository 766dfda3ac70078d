package events

import (
	"bytes"
	"encoding/json"
	"sort"
	"sync"
)

// cidIndex is the seqs of each client's events, oldest first, in memory:
// history and ?cid= read it instead of scanning the log. It is built when
// the log opens, from the events themselves, and kept by the writer.
//
// In memory and not a bucket of the file: an on-disk index by client ID is
// a random insert per event into a B+tree (19,000 clients reconnecting
// touch 19,000 places of it), which measured as four tenths of the
// writer's CPU and a third of the file. The price is 8 bytes per retained
// event (8 MB at the default 1,000,000) and a scan of the log at start.
type cidIndex struct {
	mu   sync.RWMutex
	seqs map[string][]uint64
}

func newCIDIndex() *cidIndex { return &cidIndex{seqs: make(map[string][]uint64)} }

func (x *cidIndex) add(cid string, seq uint64) {
	if cid == "" {
		return
	}
	x.mu.Lock()
	x.seqs[cid] = append(x.seqs[cid], seq)
	x.mu.Unlock()
}

// drop forgets cid's events up to seq (the retention deletes the oldest).
func (x *cidIndex) drop(cid string, upTo uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s := x.seqs[cid]
	i := sort.Search(len(s), func(i int) bool { return s[i] > upTo })
	if i == len(s) {
		delete(x.seqs, cid)
		return
	}
	if i > 0 {
		// Copy down once the dropped head is large, so a long-lived
		// client's slice does not keep its whole past reachable.
		if i > len(s)/2 {
			s = append([]uint64(nil), s[i:]...)
		} else {
			s = s[i:]
		}
		x.seqs[cid] = s
	}
}

// after is up to limit of cid's seqs greater than after, oldest first.
func (x *cidIndex) after(cid string, after uint64, limit int) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.seqs[cid]
	i := sort.Search(len(s), func(i int) bool { return s[i] > after })
	return append([]uint64(nil), s[i:min(len(s), i+limit)]...)
}

// latest is cid's newest limit seqs, newest first.
func (x *cidIndex) latest(cid string, limit int) []uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.seqs[cid]
	out := make([]uint64, 0, min(limit, len(s)))
	for i := len(s) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, s[i])
	}
	return out
}

// cidOf reads the cid field of a stored event without decoding the rest:
// the index is built from every event at start. Our encoder writes
// `"cid":"` once, after the fields that can hold free text would (type,
// id, time, node hold no quotes that could fake it: see Event's order), so
// the first match is the field; anything odd falls back to encoding/json.
func cidOf(v []byte) string {
	const key = `"cid":"`
	i := bytes.Index(v, []byte(key))
	if i < 0 {
		return ""
	}
	rest := v[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		var c struct {
			CID string `json:"cid"`
		}
		_ = json.Unmarshal(v, &c)
		return c.CID
	}
	return string(rest[:j])
}
