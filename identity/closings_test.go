package identity

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A store's state read whole again (a watch that was lost: reload) closes
// sessions as a ban or a delete applied alone does, and moves Closings
// too, so that a registration admitted before it and registered after
// its close's look is asked again (late cluster audit: reload did not).
func TestReloadMovesClosings(t *testing.T) {
	s := New()
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { _ = s.Close() })
	before := s.Closings()
	s.reload(nil, []Ban{{Kind: KindCID, Value: "reloaded-ban", By: ByOperator, At: time.Now()}})
	assert.Greater(t, s.Closings(), before)
	assert.Equal(t, "banned", s.Recheck("reloaded-ban", &[32]byte{}, true).String())
}

// An operator's ban and a credential's delete move Closings when they are
// made, on the node that made them too, so that a registration admitted
// just before and registered after the close's look is asked again
// (mutants: setBanLocked and deleteCredLocked without their Add).
func TestOperatorChangesMoveClosings(t *testing.T) {
	s := New()
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	before := s.Closings()
	_, err := s.AddBan(ctx, KindCID, "dev-1", "", 0)
	require.NoError(t, err)
	assert.Greater(t, s.Closings(), before, "an operator's ban")
	_, _, err = s.Enroll(ctx, "dev-2", 0)
	require.NoError(t, err)
	before = s.Closings()
	require.NoError(t, s.DeleteCredential(ctx, "dev-2"))
	assert.Greater(t, s.Closings(), before, "a credential's delete")
}
