package registry_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/registry"
)

// Rewrite has the next flush write a record again as it is: the store's
// copy was changed behind the registry's back (in a cluster, by another
// node) and gets the registry's state back.
func TestRewriteWritesTheRecordAgain(t *testing.T) {
	s := openStore(t, t.TempDir())
	r := registry.New(registry.WithStore(s))
	_, _ = mustRegister(t, r, "a")
	require.NoError(t, r.Flush())
	want := stored(t, s)["a"]
	require.True(t, want.CStatus)

	require.NoError(t, s.Save(nil, []string{"a"})) // changed behind the registry's back
	require.NoError(t, r.Flush())
	assert.NotContains(t, stored(t, s), "a", "nothing dirty: the flush wrote nothing")

	assert.True(t, r.Rewrite("a"))
	assert.False(t, r.Rewrite("nobody"))
	require.NoError(t, r.Flush())
	assert.Equal(t, want, stored(t, s)["a"])
	assert.NotContains(t, stored(t, s), "nobody")
}
