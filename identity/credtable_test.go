package identity

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// held is what the table gives back of c: its client ID, its creation to
// the second and its grace's end; the digests only through matches.
func held(c Credential) Credential {
	return Credential{CID: c.CID, CreatedAt: c.CreatedAt.Truncate(time.Second), PreviousValidUntil: c.PreviousValidUntil}
}

// The table answers as the map of Credentials it replaced did: every
// field it holds back, deleted entries gone (and their slots reused),
// pages exact.
func TestCredTableHoldsWhatItWasGiven(t *testing.T) {
	at := time.Unix(1796000000, 123456789).UTC() // the API shows seconds: those are kept
	var loaded []Credential
	for i := range 50 {
		loaded = append(loaded, Credential{CID: fmt.Sprintf("dev-%02d", i), Digest: Digest(fmt.Appendf(nil, "s%d", i)), CreatedAt: at})
	}
	tab := loadCredTable(loaded)
	require.Equal(t, 50, tab.len())
	c, ok := tab.get("dev-07")
	require.True(t, ok)
	assert.Equal(t, held(loaded[7]), c)
	assert.True(t, c.CreatedAt.Equal(time.Unix(1796000000, 0)))

	for _, cid := range []string{"dev-03", "dev-10", "dev-49"} {
		require.True(t, tab.delete(cid))
	}
	assert.False(t, tab.delete("dev-03"))
	_, ok = tab.get("dev-03")
	assert.False(t, ok)
	assert.Equal(t, 3*(recName+len("dev-03")), tab.dead, "the deleted records' bytes are counted as dead")

	until := at.Add(time.Hour)
	prev := Digest([]byte("old"))
	graced := Credential{CID: "new-1", Digest: Digest([]byte("new")), CreatedAt: at, Previous: &prev, PreviousValidUntil: &until}
	tab.put(&graced)
	assert.Len(t, tab.recs, 50*(recName+len("dev-03"))+recName+len("new-1"), "records are appended; the dead ones wait for a compaction")
	got, ok := tab.get("new-1")
	require.True(t, ok)
	assert.Equal(t, held(graced), got)
	assert.Equal(t, 1, tab.graced())

	ok, present := tab.matches("new-1", &prev, at)
	assert.True(t, ok && present, "the previous secret within its grace")
	ok, _ = tab.matches("new-1", &prev, until)
	assert.False(t, ok, "the previous secret once its grace ended")
	ok, _ = tab.matches("new-1", &graced.Digest, until.Add(time.Hour))
	assert.True(t, ok)
	ok, present = tab.matches("dev-07", &prev, at)
	assert.False(t, ok)
	assert.True(t, present)
	_, present = tab.matches("dev-03", &loaded[3].Digest, at)
	assert.False(t, present, "a deleted credential")
	ok, _ = tab.matches("dev-07", nil, at)
	assert.False(t, ok, "no secret")

	assert.Equal(t, []string{"new-1"}, tab.ended(until))
	assert.Empty(t, tab.ended(at))
	tab.endGrace("new-1")
	got, _ = tab.get("new-1")
	assert.Nil(t, got.PreviousValidUntil)
	assert.Equal(t, 0, tab.graced())
	tab.put(&Credential{CID: "dev-07", Digest: prev, CreatedAt: at})
	ok, _ = tab.matches("dev-07", &prev, at)
	assert.True(t, ok, "a put replaces in place")
	ok, _ = tab.matches("dev-07", &loaded[7].Digest, at)
	assert.False(t, ok, "the replaced digest")

	// Pages of 7 from the top walk every credential once, in order.
	var walked []string
	after := ""
	for {
		page, more := tab.page(after, "", 7)
		require.LessOrEqual(t, len(page), 7)
		for _, c := range page {
			walked = append(walked, c.CID)
			after = c.CID
		}
		if !more {
			break
		}
	}
	assert.Len(t, walked, 48)
	assert.IsIncreasing(t, walked)
	assert.Equal(t, "dev-00", walked[0])
	assert.Equal(t, "new-1", walked[47])
	page, more := tab.page("dev-48", "", 10)
	assert.False(t, more)
	assert.Equal(t, []string{"new-1"}, []string{page[0].CID})
	assert.Len(t, page, 1)

	// A prefix keeps its IDs only, paged the same way.
	page, more = tab.page("", "dev-1", 4)
	assert.True(t, more)
	assert.Equal(t, []string{"dev-11", "dev-12", "dev-13", "dev-14"}, cidsOf(page)) // dev-10 was deleted above
	page, more = tab.page("dev-17", "dev-1", 4)
	assert.False(t, more)
	assert.Equal(t, []string{"dev-18", "dev-19"}, cidsOf(page))
	page, _ = tab.page("", "dev-19", 1) // an ID is the first of its own prefix
	assert.Equal(t, []string{"dev-19"}, cidsOf(page))
	page, more = tab.page("", "nobody", 4)
	assert.False(t, more)
	assert.Empty(t, page)
}

func cidsOf(cs []Credential) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.CID
	}
	return out
}

// Random puts and deletes over a few hundred client IDs, checked against
// a map after every step: the index and the records' region grow, dead
// records are compacted away, and lookups, counts and pages stay exact.
func TestCredTableAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]Credential{}
	tab := newCredTable(0, 0)
	cidOf := func(i int) string { return fmt.Sprintf("c%0*d", 2+i%60, i) } // 3 to 62 bytes
	at := time.Unix(1796000000, 0).UTC()
	compacted := false
	for step := range 20000 {
		cid := cidOf(rng.IntN(400))
		deadBefore := tab.dead
		if rng.IntN(3) == 0 {
			_, had := model[cid]
			require.Equal(t, had, tab.delete(cid), "delete %s", cid)
			delete(model, cid)
		} else {
			c := Credential{CID: cid, Digest: Digest(fmt.Appendf(nil, "%d", step)), CreatedAt: at.Add(time.Duration(step))}
			tab.put(&c)
			model[cid] = c
		}
		compacted = compacted || (deadBefore > 0 && tab.dead == 0)
		require.Equal(t, len(model), tab.len())
		probe := cidOf(rng.IntN(400))
		got, ok := tab.get(probe)
		want, had := model[probe]
		require.Equal(t, had, ok, "get %s at step %d", probe, step)
		require.Equal(t, held(want), got)
		if had {
			ok, present := tab.matches(probe, &want.Digest, at)
			require.True(t, ok && present)
		}
	}
	assert.True(t, compacted, "the records were compacted at least once")
	want := slices.Sorted(maps.Keys(model))
	page, more := tab.page("", "", len(model)+1)
	assert.False(t, more)
	var got []string
	for _, c := range page {
		got = append(got, c.CID)
		assert.Equal(t, held(model[c.CID]), c)
	}
	assert.Equal(t, want, got)
	assert.ElementsMatch(t, want, tab.cids())
}

// What a loaded credential costs the table, by its own accounting: a
// 21-byte record with its client ID, and its share of an index sized to
// the load. The bench's 19,000 client IDs "bench-N" (10.4 bytes on
// average) put it at 36.7 B (58.3 B with whole digests, nanoseconds and
// a power-of-two index); the RSS in a fresh process is boltstore's
// TestCredentialMemory. A Load streamed through put (EachLoader) ends
// with the same index, fitted.
func TestCredTableBytesPerCredential(t *testing.T) {
	const n = 19000
	creds := make([]Credential, n)
	for i := range creds {
		creds[i] = Credential{CID: fmt.Sprintf("bench-%d", i), CreatedAt: time.Unix(1796000000, 0)}
	}
	tab := loadCredTable(creds)
	defer tab.release()
	per := float64(tab.bytes()) / n
	t.Logf("%.1f B per credential (records %d B, index %d B)", per, len(tab.recs), len(tab.index))
	assert.LessOrEqual(t, per, 37.0)
	page := os.Getpagesize()
	assert.Equal(t, (len(tab.recs)+page-1)/page*page, cap(tab.recs), "a Load sizes the records' region exactly (to a page)")

	streamed := newCredTable(0, 0)
	defer streamed.release()
	for i := range creds {
		streamed.put(&creds[i])
	}
	streamed.fit()
	assert.Equal(t, len(tab.index), len(streamed.index), "a streamed load's index fitted as a Load's")
	for i := range creds {
		_, ok := streamed.record(creds[i].CID)
		require.True(t, ok, creds[i].CID)
	}
}

// What the table reports resident (the cliser_credentials_resident_bytes
// gauge) is its bytes to the page: a streamed load leaves its records'
// region with room to grow, which costs nothing and is not counted, and
// a compaction's smaller regions are what is counted after it.
func TestCredTableResidentIsItsBytes(t *testing.T) {
	const n = 50000
	page := os.Getpagesize()
	tab := newCredTable(0, 0)
	defer tab.release()
	// within checks the resident bytes lie between bytes and bytes plus
	// the two regions' last pages.
	within := func(what string) int {
		got, err := tab.resident()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, got, tab.bytes(), what)
		assert.LessOrEqual(t, got, tab.bytes()+2*page, what)
		return got
	}
	empty, err := tab.resident()
	require.NoError(t, err)
	assert.Zero(t, empty, "an empty table's pages are not written")
	for i := range n {
		tab.put(&Credential{CID: fmt.Sprintf("bench-%d", i), CreatedAt: time.Unix(1796000000, 0)})
	}
	tab.fit()
	require.Greater(t, cap(tab.recs)-len(tab.recs), 10*page, "the streamed load left room to grow")
	full := within("loaded")
	t.Logf("%d credentials: resident %.1f B each, the table's bytes %.1f B each", n, float64(full)/n, float64(tab.bytes())/n)
	for i := range 3 * n / 5 {
		require.True(t, tab.delete(fmt.Sprintf("bench-%d", i)))
	}
	assert.Less(t, within("compacted"), full*3/5, "the compaction's records are what is counted")
}

// The table holds the first 16 bytes of a digest and compares those, in
// constant time: a digest that differs only past them matches, one that
// differs within them does not (credtable.go's heldDigest says why 128
// bits are enough against a 256-bit secret).
func TestCredTableComparesTheHeldDigest(t *testing.T) {
	tab := newCredTable(0, 0)
	defer tab.release()
	at := time.Unix(1796000000, 0).UTC()
	cur, prev := Digest([]byte("new")), Digest([]byte("old"))
	until := at.Add(time.Hour)
	tab.put(&Credential{CID: "r", Digest: cur, CreatedAt: at, Previous: &prev, PreviousValidUntil: &until})
	for _, d := range []*[32]byte{&cur, &prev} {
		past, within := *d, *d
		past[heldDigest] ^= 1
		within[heldDigest-1] ^= 1
		ok, _ := tab.matches("r", &past, at)
		assert.True(t, ok, "a difference past the held bytes is not seen")
		ok, _ = tab.matches("r", &within, at)
		assert.False(t, ok, "a difference within them is")
	}
	h, ok := tab.heldDigestOf("r")
	require.True(t, ok)
	assert.Equal(t, cur[:heldDigest], h[:])
}

// 100,000 client IDs of 10 to 61 bytes put, a third deleted and the rest
// found with their digests; the index stays within 3/4 full and a live
// credential takes its record and its ID.
func TestCredTableHundredThousand(t *testing.T) {
	const n = 100000
	tab := newCredTable(0, 0)
	defer tab.release()
	at := time.Unix(1796000000, 0).UTC()
	digests := make(map[string][32]byte, n)
	for i := range n {
		cid := fmt.Sprintf("id-%d-%s", i, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"[:i%50])
		d := Digest(fmt.Appendf(nil, "s%d", i))
		tab.put(&Credential{CID: cid, Digest: d, CreatedAt: at})
		digests[cid] = d
	}
	deleted := 0
	for cid := range digests {
		if deleted < n/3 {
			require.True(t, tab.delete(cid))
			delete(digests, cid)
			deleted++
		}
	}
	require.Equal(t, len(digests), tab.len())
	names := 0
	for cid, d := range digests {
		ok, present := tab.matches(cid, &d, at)
		require.True(t, ok && present, cid)
		names += len(cid)
	}
	assert.LessOrEqual(t, tab.len()*4, tab.slots()*3)
	live := len(tab.recs) - tab.dead
	assert.Equal(t, tab.len()*recName+names, live, "a live credential takes its record and its ID")
}

// A probe reads a record (its client ID: a cache miss on a busy loop)
// only where its slot's tag matches. Over the bench's 19,000 `bench-N`
// (the index 3/4 full), counted along each probe: the occupied slots a
// lookup passes, each of which it read before the tags, against those
// whose tag matches. Also when the records' region outgrows the tags'
// room and the index is made again (a streamed load).
func TestCredTableReadsFewRecords(t *testing.T) {
	for _, streamed := range []bool{false, true} {
		creds := make([]Credential, 19000)
		for i := range creds {
			creds[i] = Credential{CID: fmt.Sprintf("bench-%d", i), Digest: Digest(fmt.Appendf(nil, "s%d", i))}
		}
		tab := loadCredTable(creds)
		if streamed {
			tab.release()
			tab = newCredTable(0, 0)
			for i := range creds {
				tab.put(&creds[i])
			}
			tab.fit()
		}
		walk := func(cid string) (passed, read int, found bool) {
			h := maphash.String(tab.seed, cid)
			tags := ^uint32(1<<tab.offBits - 1)
			for i := tab.home(h); tab.slot(i) != 0; i = tab.next(i) {
				passed++
				if v := tab.slot(i); v&tags == tab.slotTag(h) {
					read++
					if string(tab.nameOf(tab.offOf(v))) == cid {
						return passed, read, true
					}
				}
			}
			return passed, read, false
		}
		var held, absent [2]int
		for _, c := range creds {
			p, r, found := walk(c.CID)
			require.True(t, found, c.CID)
			held[0], held[1] = held[0]+p, held[1]+r
			p, r, found = walk("absent-" + c.CID)
			require.False(t, found)
			absent[0], absent[1] = absent[0]+p, absent[1]+r
			ok, present := tab.matches(c.CID, &c.Digest, time.Now())
			require.True(t, ok && present, c.CID)
		}
		n := float64(len(creds))
		t.Logf("streamed %v, %d tag bits: a held ID: %.3f slots passed, %.3f records read; an absent one: %.3f passed, %.3f read",
			streamed, 32-tab.offBits, float64(held[0])/n, float64(held[1])/n, float64(absent[0])/n, float64(absent[1])/n)
		require.LessOrEqual(t, float64(held[1])/n, 1.01, "records read to find a held ID")
		require.LessOrEqual(t, float64(absent[1])/n, 0.01, "records read for an absent ID")
		tab.release()
	}
}
