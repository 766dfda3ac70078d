package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A prefix is a range of the cid order: only matching IDs, still paged by
// the cursor and still filtered by status.
func TestListPrefix(t *testing.T) {
	r := registry.New()
	for _, cid := range []string{"a", "ab", "abc", "abd", "abz", "ac", "b", "aa"} {
		mustRegister(t, r, cid)
	}
	_, c := mustRegister(t, r, "abx")
	require.True(t, r.Disconnect("abx", c, protocol.ReasonKicked))

	assert.Equal(t, []string{"ab", "abc", "abd", "abx", "abz"}, cids(r.List(registry.Query{Prefix: "ab"}).Records))
	assert.Equal(t, []string{"ab", "abc", "abd", "abz"}, cids(r.List(registry.Query{Prefix: "ab", Status: registry.StatusConnected}).Records))
	assert.Empty(t, r.List(registry.Query{Prefix: "zz"}).Records)

	p1 := r.List(registry.Query{Prefix: "ab", Limit: 2})
	assert.Equal(t, []string{"ab", "abc"}, cids(p1.Records))
	require.Equal(t, "abc", p1.Next)
	p2 := r.List(registry.Query{Prefix: "ab", Limit: 2, After: p1.Next})
	assert.Equal(t, []string{"abd", "abx"}, cids(p2.Records))
	p3 := r.List(registry.Query{Prefix: "ab", Limit: 2, After: p2.Next})
	assert.Equal(t, []string{"abz"}, cids(p3.Records))
	assert.Empty(t, p3.Next, "the last page of a prefix has no cursor")
	// A cursor before the prefix starts at the prefix.
	assert.Equal(t, []string{"ab"}, cids(r.List(registry.Query{Prefix: "ab", After: "a", Limit: 1}).Records))
}
