package registry

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The cid index against a Go map, through random puts, replacements and
// deletions over few cids (long probe runs that wrap around the table's
// end, deletions inside them) and through growth and shrinking.
func TestCIDIndexAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newCIDIndex()
	want := map[string]*entry{}
	check := func() {
		t.Helper()
		require.Equal(t, len(want), x.n)
		for cid, e := range want {
			require.Same(t, e, x.get(cid), "get(%q)", cid)
		}
		held := 0
		for i, e := range x.slots {
			require.Equal(t, e != nil, x.tags[i] != 0, "slot %d and its tag disagree", i)
			if e != nil {
				held++
				require.Same(t, want[e.cid], e, "%q held but not wanted", e.cid)
				_, tag := x.hash(e.cid)
				require.Equal(t, tag, x.tags[i], "%q's tag", e.cid)
			}
		}
		require.Equal(t, x.n, held)
		if x.n > 0 {
			require.LessOrEqual(t, 4*x.n, 3*len(x.slots), "over 3/4 full")
		}
	}
	for round, span := range []int{40, 300, 5000} {
		for i := range 20 * span {
			cid := fmt.Sprintf("c%d-%d", round, rng.IntN(span))
			switch rng.IntN(3) {
			case 0, 1: // put, or replace
				e := &entry{cid: cid}
				x.put(e)
				want[cid] = e
			case 2:
				if e, ok := want[cid]; ok {
					x.del(&entry{cid: cid}) // not the held entry: no change
					require.Same(t, e, x.get(cid))
					x.del(e)
					delete(want, cid)
				}
			}
			if i%(span/3+7) == 0 {
				check()
			}
		}
		check()
		for cid, e := range want { // empty it: the table shrinks and goes
			x.del(e)
			delete(want, cid)
		}
		check()
		require.Nil(t, x.slots, "an empty index keeps its table")
		require.Nil(t, x.get("c0-1"))
	}
}

// BenchmarkCIDIndexGet and BenchmarkCIDTreeGet: a lookup by cid among
// 20,000 records, in the hash index and in the B-tree it replaced for
// lookups (issue 17, session 10). Neither allocates.
func BenchmarkCIDIndexGet(b *testing.B) {
	r, cids := benchLookupRegistry(b)
	benchLookup(b, cids, func(cid string) bool { _, ok := r.getLocked(cid); return ok })
}

// BenchmarkCIDIndexGetAbsent: a lookup of a cid the registry does not
// hold (a client's first registration), among 20,000 records. Its probe
// ends at an empty slot, past the occupied ones of its run.
func BenchmarkCIDIndexGetAbsent(b *testing.B) {
	r, cids := benchLookupRegistry(b)
	for i := range cids {
		cids[i] = "absent-" + cids[i]
	}
	benchLookup(b, cids, func(cid string) bool { _, ok := r.getLocked(cid); return !ok })
}

func BenchmarkCIDTreeGet(b *testing.B) {
	r, cids := benchLookupRegistry(b)
	benchLookup(b, cids, func(cid string) bool {
		r.key.cid = cid
		_, ok := r.byCID.Get(&r.key)
		return ok
	})
}

func benchLookupRegistry(tb testing.TB) (*Registry, []string) {
	r := New(WithMaxClients(1))
	cids := make([]string, 20_000)
	for i := range cids {
		cids[i] = fmt.Sprintf("bench-%05d", i)
		r.insertLocked(&entry{cid: cids[i]})
	}
	return r, cids
}

func benchLookup(b *testing.B, cids []string, get func(string) bool) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if !get(cids[i]) {
			b.Fatal("lost", cids[i])
		}
		i = (i + 7919) % len(cids)
	}
}

// A lookup follows a slot's pointers (the entry, then its cid's bytes:
// each a cache miss on a busy loop) only where the slot's tag matches.
// Over 20,000 records (the harness's fleet, the table 61% full), counted
// along each probe: the occupied slots a lookup passes, which it followed
// before the tags, against the slots whose tag matches.
func TestCIDIndexFollowsFewEntries(t *testing.T) {
	r, cids := benchLookupRegistry(t)
	x := &r.byHash
	walk := func(cid string) (passed, followed int) {
		i, tag := x.hash(cid)
		for ; x.tags[i] != 0; i = (i + 1) & (len(x.slots) - 1) {
			passed++
			if x.tags[i] == tag {
				followed++
				if x.slots[i].cid == cid {
					break
				}
			}
		}
		return passed, followed
	}
	var held, absent [2]int
	for _, cid := range cids {
		p, f := walk(cid)
		held[0], held[1] = held[0]+p, held[1]+f
		p, f = walk("absent-" + cid)
		absent[0], absent[1] = absent[0]+p, absent[1]+f
	}
	n := float64(len(cids))
	t.Logf("a held cid: %.3f slots passed, %.3f followed; an absent one: %.3f passed, %.3f followed",
		float64(held[0])/n, float64(held[1])/n, float64(absent[0])/n, float64(absent[1])/n)
	require.LessOrEqual(t, float64(held[1])/n, 1.05, "entries followed to find a held cid")
	require.LessOrEqual(t, float64(absent[1])/n, 0.1, "entries followed for an absent cid")
}
