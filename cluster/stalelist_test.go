package cluster

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// Walking a stale list page by page, whatever the page size, the status
// filter and the two sources, gives every cid of either source once, in
// order, the registry's record where it is connected, else the index's,
// and no page longer than the limit. The index's pages may be short: an
// own client gone from the registry is a hole in them (fillOwn finds no
// record, pageOf leaves it out) though its cid is still the cursor's.
func TestWithOwnPagesTheUnionOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 17))
	for round := range 300 {
		idx, own := map[string]registry.Record{}, map[string]registry.Record{}
		for i := range 30 {
			cid := fmt.Sprintf("c%02d", i)
			switch rng.IntN(5) {
			case 0:
				idx[cid] = registry.Record{CID: cid, Node: "other", CStatus: rng.IntN(2) == 0}
			case 1:
				own[cid] = registry.Record{CID: cid, Node: "self", CStatus: rng.IntN(2) == 0}
			case 2:
				idx[cid] = registry.Record{CID: cid, Node: "other", CStatus: rng.IntN(2) == 0}
				own[cid] = registry.Record{CID: cid, Node: "self", CStatus: rng.IntN(2) == 0}
			case 3:
				idx[cid] = registry.Record{} // a hole: counted, not shown
			}
		}
		q := registry.Query{Limit: 1 + rng.IntN(7), Status: registry.Status(rng.IntN(3))}
		var want []string
		for i := range 30 {
			cid := fmt.Sprintf("c%02d", i)
			a, inA := idx[cid]
			b, inB := own[cid]
			pick, ok := a, inA && a.CID != ""
			if inB && (b.CStatus || !ok) {
				pick, ok = b, true
			}
			if ok && q.Status.Match(pick.CStatus) {
				want = append(want, cid+"/"+pick.Node)
			}
		}
		var got []string
		for pages := 0; ; pages++ {
			require.Less(t, pages, 100, "round %d: the walk does not end", round)
			all := q
			all.Status = registry.StatusAll
			page := withOwn(q, recsPage(all, idx), recsPage(all, own))
			require.LessOrEqual(t, len(page.Records), q.PageLimit(), "round %d: a page past the limit", round)
			for _, r := range page.Records {
				got = append(got, r.CID+"/"+r.Node)
			}
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		require.Equal(t, want, got, "round %d, limit %d, status %d", round, q.Limit, q.Status)
	}
}

// recsPage is q's page of recs, as the registry and the index select one
// (pageOf: a hole is left out, the cursor kept).
func recsPage(q registry.Query, recs map[string]registry.Record) registry.Page {
	cids := make([]string, 0, len(recs))
	for cid := range recs {
		cids = append(cids, cid)
	}
	slices.Sort(cids)
	items, more := registry.SelectPage(q, func(from string, visit func(string) bool) {
		for _, cid := range cids {
			if cid >= from && !visit(cid) {
				return
			}
		}
	}, func(cid string) (string, bool) { return cid, recs[cid].CStatus })
	cands := make([]candidate, len(items))
	for i, cid := range items {
		cands[i] = candidate{e: key(cid), rec: recs[cid]}
	}
	return pageOf(q, cands, more)
}
