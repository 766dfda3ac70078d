package registry_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func cids(recs []registry.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.CID
	}
	return out
}

// fill registers n clients c00000.. and disconnects every third.
func fill(t testing.TB, r *registry.Registry, n int) (connected, disconnected []string) {
	t.Helper()
	for i := range n {
		_, c := mustRegister(t, r, cidN(i))
		if i%3 == 0 {
			require.True(t, r.Disconnect(cidN(i), c, protocol.ReasonClosedByClient))
			disconnected = append(disconnected, cidN(i))
		} else {
			connected = append(connected, cidN(i))
		}
	}
	return connected, disconnected
}

func TestListOrderAndStatusFilter(t *testing.T) {
	r := registry.New()
	// Register out of order: the listing is by cid regardless.
	order := rand.New(rand.NewPCG(1, 2)).Perm(30)
	for _, i := range order {
		_, c := mustRegister(t, r, cidN(i))
		if i%3 == 0 {
			require.True(t, r.Disconnect(cidN(i), c, protocol.ReasonClosedByClient))
		}
	}
	var wantAll, wantConn, wantDisc []string
	for i := range 30 {
		wantAll = append(wantAll, cidN(i))
		if i%3 == 0 {
			wantDisc = append(wantDisc, cidN(i))
		} else {
			wantConn = append(wantConn, cidN(i))
		}
	}
	for _, c := range []struct {
		s    registry.Status
		want []string
	}{
		{registry.StatusAll, wantAll},
		{registry.StatusConnected, wantConn},
		{registry.StatusDisconnected, wantDisc},
	} {
		p := r.List(registry.Query{Status: c.s})
		assert.Equal(t, c.want, cids(p.Records), "status %d", c.s)
		assert.Empty(t, p.Next, "one page holds them all")
		for _, rec := range p.Records {
			switch c.s {
			case registry.StatusConnected:
				assert.True(t, rec.CStatus, rec.CID)
			case registry.StatusDisconnected:
				assert.False(t, rec.CStatus, rec.CID)
			}
		}
	}
}

func TestListEmpty(t *testing.T) {
	p := registry.New().List(registry.Query{})
	assert.Empty(t, p.Records)
	assert.NotNil(t, p.Records, "an empty page is [], not null, in JSON")
	assert.Empty(t, p.Next)
}

func TestListLimitBounds(t *testing.T) {
	r := registry.New()
	fill(t, r, 2500)
	for _, c := range []struct {
		limit, want int
	}{
		{0, registry.DefaultPageLimit},
		{-1, registry.DefaultPageLimit},
		{1, 1},
		{7, 7},
		{registry.MaxPageLimit, registry.MaxPageLimit},
		{registry.MaxPageLimit + 1, registry.MaxPageLimit},
		{1 << 30, registry.MaxPageLimit},
	} {
		p := r.List(registry.Query{Limit: c.limit})
		assert.Len(t, p.Records, c.want, "limit %d", c.limit)
		assert.Equal(t, p.Records[len(p.Records)-1].CID, p.Next, "limit %d", c.limit)
	}
}

func TestListCursor(t *testing.T) {
	r := registry.New()
	connected, _ := fill(t, r, 30) // 20 connected, 10 disconnected

	// Pages of 7 over 20 connected: 7, 7, 6, and the last says so.
	var got []string
	q := registry.Query{Status: registry.StatusConnected, Limit: 7}
	var sizes []int
	for {
		p := r.List(q)
		sizes = append(sizes, len(p.Records))
		got = append(got, cids(p.Records)...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	assert.Equal(t, []int{7, 7, 6}, sizes)
	assert.Equal(t, connected, got)

	// Exactly a page left: no further (empty) page is promised.
	p := r.List(registry.Query{Status: registry.StatusConnected, Limit: 20})
	assert.Len(t, p.Records, 20)
	assert.Empty(t, p.Next)

	// A cursor that names no record (it left, or was never there) goes
	// on from the next cid after it.
	p = r.List(registry.Query{After: cidN(4) + "z", Limit: 2})
	assert.Equal(t, []string{cidN(5), cidN(6)}, cids(p.Records))
	p = r.List(registry.Query{After: "zzz"})
	assert.Empty(t, p.Records)
	assert.Empty(t, p.Next)
}

// TestListPaginationUnderChurn walks every listing page by page while
// clients join, leave, come back and are taken over between pages. Every
// record that matches the filter for the whole walk must appear exactly
// once, no cid may appear twice, and pages are in cid order.
func TestListPaginationUnderChurn(t *testing.T) {
	for _, status := range []registry.Status{registry.StatusAll, registry.StatusConnected, registry.StatusDisconnected} {
		for _, limit := range []int{1, 7, 100} {
			r := registry.New()
			rng := rand.New(rand.NewPCG(uint64(status), uint64(limit)))
			// Stable clients (s…) are left alone; churn clients (x…) are
			// interleaved with them in cid order and change between pages.
			stable := map[string]bool{} // cid -> connected
			for i := range 300 {
				cid := "s" + cidN(i)
				_, c := mustRegister(t, r, cid)
				stable[cid] = true
				if i%4 == 0 {
					require.True(t, r.Disconnect(cid, c, protocol.ReasonKicked))
					stable[cid] = false
				}
			}
			churn := map[string]*testConn{} // cid -> conn, nil when disconnected
			churnCID := func() string { return "s" + cidN(rng.IntN(300)) + "x" + cidN(rng.IntN(50)) }

			seen := map[string]int{}
			q := registry.Query{Status: status, Limit: limit}
			last := ""
			for pages := 0; ; pages++ {
				require.Less(t, pages, 10000, "the walk never ends")
				p := r.List(q)
				require.LessOrEqual(t, len(p.Records), limit)
				for _, rec := range p.Records {
					require.Greater(t, rec.CID, last, "pages out of cid order")
					last = rec.CID
					seen[rec.CID]++
				}
				if p.Next == "" {
					break
				}
				require.Equal(t, last, p.Next)
				q.After = p.Next
				// Churn between pages: join, leave, return, take over.
				for range 5 {
					cid := churnCID()
					switch c, known := churn[cid]; {
					case !known || c == nil:
						_, churn[cid] = mustRegister(t, r, cid)
					case rng.IntN(2) == 0:
						require.True(t, r.Disconnect(cid, c, protocol.ReasonClosedByClient))
						churn[cid] = nil
					default:
						nc := newConn()
						_, replaced, err := r.Register(cid, "", "", nc)
						require.NoError(t, err)
						require.Same(t, c, replaced)
						churn[cid] = nc
					}
				}
			}
			for cid, n := range seen {
				require.Equal(t, 1, n, "%s listed %d times (status %d, limit %d)", cid, n, status, limit)
			}
			for cid, conn := range stable {
				want := status == registry.StatusAll || (status == registry.StatusConnected) == conn
				assert.Equal(t, want, seen[cid] == 1, "%s (connected=%v) status %d limit %d", cid, conn, status, limit)
			}
		}
	}
}

func TestListSeesJoinsAheadOfTheCursor(t *testing.T) {
	// A client that joins after the cursor's position shows up on a later
	// page; one that joins behind it does not (and is not owed).
	r := registry.New()
	for _, cid := range []string{"b", "d", "f"} {
		_, _ = mustRegister(t, r, cid)
	}
	p := r.List(registry.Query{Limit: 2})
	require.Equal(t, []string{"b", "d"}, cids(p.Records))
	_, _ = mustRegister(t, r, "a")
	_, _ = mustRegister(t, r, "e")
	p = r.List(registry.Query{After: p.Next, Limit: 2})
	assert.Equal(t, []string{"e", "f"}, cids(p.Records))
	assert.True(t, slices.IsSorted(cids(all(t, r, registry.StatusAll))))
}
