package secretset

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func bytesOf(list ...string) [][]byte {
	out := make([][]byte, len(list))
	for i, s := range list {
		out[i] = []byte(s)
	}
	return out
}

// newSet is the set of secrets; the server starts from a zero Set and
// Replace, so this exists only for the tests.
func newSet(secrets [][]byte) *Set {
	s := &Set{}
	s.Replace(secrets)
	return s
}

func TestMatchTakesOnlyTheSecretsWhole(t *testing.T) {
	s := newSet(bytesOf("one", "two"))
	assert.Equal(t, 2, s.Len())
	assert.True(t, s.Match([]byte("one")))
	assert.True(t, s.Match([]byte("two")))
	assert.False(t, s.Match([]byte("on")), "a prefix")
	assert.False(t, s.Match([]byte("one ")), "a longer one")
	assert.False(t, s.Match(nil))
	d := sha256.Sum256([]byte("two"))
	assert.True(t, s.MatchDigest(&d))
}

func TestEmptySetMatchesNothing(t *testing.T) {
	none := newSet(bytesOf("a"))
	none.Replace(nil)
	for name, s := range map[string]*Set{"zero": {}, "newSet(nil)": newSet(nil), "replaced by none": none} {
		assert.Equal(t, 0, s.Len(), name)
		assert.False(t, s.Match(nil), name)
		assert.False(t, s.Match([]byte("")), name)
		assert.False(t, s.Match([]byte("a")), name)
	}
}

// The constant time is in the loop's structure: no entry is skipped, not
// after a match nor after a mismatch, so every match in the set is
// counted, the last one too.
func TestEveryEntryIsCompared(t *testing.T) {
	a, x := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("x"))
	assert.Equal(t, 2, matches([]Digest{a, x, a}, &a), "past a match and a mismatch to the last entry")
	assert.Equal(t, 3, matches([]Digest{a, a, a}, &a))
	assert.Equal(t, 1, matches([]Digest{x, x, x, a}, &a))
	assert.Equal(t, 0, matches([]Digest{x, x}, &a))
	assert.True(t, newSet(bytesOf("a", "a")).Match([]byte("a")), "a secret given twice still matches")
}

// Match runs against one whole set or the other while Replace swaps them:
// the secret in both always matches, one in neither never does.
func TestReplaceWhileMatching(t *testing.T) {
	s := newSet(bytesOf("kept", "old"))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if !s.Match([]byte("kept")) || s.Match([]byte("never")) {
					t.Error("a match saw a set that was never stored")
					return
				}
				_ = s.Len()
			}
		})
	}
	for i := range 2000 {
		if i%2 == 0 {
			s.Replace(bytesOf("kept", "new", "newer"))
		} else {
			s.Replace(bytesOf("old", "kept"))
		}
	}
	stop.Store(true)
	wg.Wait()
	assert.True(t, s.Match([]byte("old")))
	assert.False(t, s.Match([]byte("new")))
}
