package admin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A set of tokens is swapped whole; a swap never opens an API that wants
// a token, nor closes one started open.
func TestTokensSwapWholeAndNeverToNone(t *testing.T) {
	tokens := NewTokens("old-token")
	assert.True(t, tokens.match("old-token"))
	assert.False(t, tokens.match("new-token"))

	require.NoError(t, tokens.Set([]string{"old-token", "new-token"}))
	assert.True(t, tokens.match("old-token"))
	assert.True(t, tokens.match("new-token"))
	assert.Equal(t, 2, tokens.Len())

	require.NoError(t, tokens.Set([]string{"new-token"}))
	assert.False(t, tokens.match("old-token"))
	assert.True(t, tokens.match("new-token"))

	require.ErrorIs(t, tokens.Set(nil), ErrNoToken)
	assert.True(t, tokens.match("new-token"), "a refused swap keeps the tokens in force")

	open := NewTokens()
	require.ErrorIs(t, open.Set([]string{"late-token"}), ErrNoToken)
	assert.Zero(t, open.Len())
	assert.Zero(t, (*Tokens)(nil).Len())
	assert.False(t, tokens.match(""))
}
