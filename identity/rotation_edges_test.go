package identity_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
)

// A rotation without grace ends every older secret at once, the one a
// grace was still running for as much as the current one (docs/identity.md,
// "Rotation with grace": without --grace the old one stops working at
// once). A mutation audit found the table keeping the earlier rotation's
// grace, with every test passing: the secret it was granted for worked on
// for its hour.
func TestRotationWithoutGraceEndsTheGraceOfTheRotationBefore(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{}, identity.WithFlapping(0, 0, 0))
	ctx := t.Context()
	first, _, err := s.Enroll(ctx, "r", 0)
	require.NoError(t, err)
	second, c, err := s.Enroll(ctx, "r", time.Hour)
	require.NoError(t, err)
	require.NotNil(t, c.PreviousValidUntil)
	require.Equal(t, protocol.ReasonNone, s.Admit("r", digest(first), false), "the first secret within its hour of grace")

	third, c, err := s.Enroll(ctx, "r", 0)
	require.NoError(t, err)
	assert.Nil(t, c.PreviousValidUntil)
	assert.Equal(t, protocol.ReasonAuthFailed, s.Admit("r", digest(first), false), "the first secret, its grace ended by the rotation")
	assert.Equal(t, protocol.ReasonAuthFailed, s.Admit("r", digest(second), false), "the second secret")
	assert.Equal(t, protocol.ReasonNone, s.Admit("r", digest(third), false))
	got, ok := s.Credential("r")
	require.True(t, ok)
	assert.Nil(t, got.PreviousValidUntil, "the list shows no grace")
}

// A page that holds the last credentials says no more follow, even when
// they fill it exactly: GET /v1/credentials answers next "" on the last
// page (docs/operations.md, "cursor"). A mutation audit found "more" read
// as at-least-a-page with every test passing.
func TestCredentialsPageFilledExactlyIsTheLast(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	for i := range 3 {
		_, _, err := s.Enroll(t.Context(), fmt.Sprintf("dev-%d", i), 0)
		require.NoError(t, err)
	}
	page, more := s.Credentials("", "", 3)
	assert.Len(t, page, 3)
	assert.False(t, more, "three credentials in a page of three: none follow")
	page, more = s.Credentials("", "", 2)
	assert.Len(t, page, 2)
	assert.True(t, more)
	page, more = s.Credentials("dev-1", "", 1)
	require.Len(t, page, 1)
	assert.Equal(t, "dev-2", page[0].CID)
	assert.False(t, more, "the last one, a page of one")
}
