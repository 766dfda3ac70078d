package identity

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The table answers as the map of Credentials it replaced did: every field
// back, deleted entries gone (and their slots reused), pages exact.
func TestCredTableHoldsWhatItWasGiven(t *testing.T) {
	at := time.Unix(1796000000, 123456789).UTC() // nanoseconds kept
	var loaded []Credential
	for i := range 50 {
		loaded = append(loaded, Credential{CID: fmt.Sprintf("dev-%02d", i), Digest: Digest(fmt.Appendf(nil, "s%d", i)), CreatedAt: at})
	}
	tab := loadCredTable(loaded)
	require.Equal(t, 50, tab.len())
	c, ok := tab.get("dev-07")
	require.True(t, ok)
	assert.Equal(t, loaded[7], c)
	assert.True(t, c.CreatedAt.Equal(at))

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
	assert.Equal(t, graced, got)
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
	assert.Nil(t, got.Previous)
	assert.Equal(t, 0, tab.graced())
	tab.put(&Credential{CID: "dev-07", Digest: prev, CreatedAt: at})
	got, _ = tab.get("dev-07")
	assert.Equal(t, prev, got.Digest, "a put replaces in place")

	// Pages of 7 from the top walk every credential once, in order.
	var walked []string
	after := ""
	for {
		page, more := tab.page(after, 7)
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
	page, more := tab.page("dev-48", 10)
	assert.False(t, more)
	assert.Equal(t, []string{"new-1"}, []string{page[0].CID})
	assert.Len(t, page, 1)
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
		require.Equal(t, want, got)
		if had {
			ok, present := tab.matches(probe, &want.Digest, at)
			require.True(t, ok && present)
		}
	}
	assert.True(t, compacted, "the records were compacted at least once")
	want := slices.Sorted(maps.Keys(model))
	page, more := tab.page("", len(model)+1)
	assert.False(t, more)
	var got []string
	for _, c := range page {
		got = append(got, c.CID)
		assert.Equal(t, model[c.CID], c)
	}
	assert.Equal(t, want, got)
	assert.ElementsMatch(t, want, tab.cids())
}

// What a loaded credential costs the table, by its own accounting: a
// 41-byte record with its client ID, and its share of the index. The
// bench's 19,000 client IDs "bench-N" (10.4 bytes on average) put it at
// 58.6 B; the RSS in a fresh process is boltstore's TestCredentialMemory.
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
	assert.LessOrEqual(t, per, 60.0)
	page := os.Getpagesize()
	assert.Equal(t, (len(tab.recs)+page-1)/page*page, cap(tab.recs), "a Load sizes the records' region exactly (to a page)")
}
