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
