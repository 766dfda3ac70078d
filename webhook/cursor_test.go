package webhook

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBoltCursorSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	c, err := OpenBoltCursor(dir, "http://127.0.0.1:1/hook")
	require.NoError(t, err)
	_, found, err := c.Load(ctx)
	require.NoError(t, err)
	require.False(t, found, "a new webhook has no cursor")
	require.NoError(t, c.Save(ctx, State{Acked: 41, First: 42, Last: 50}))
	require.NoError(t, c.Close())

	c, err = OpenBoltCursor(dir, "http://127.0.0.1:1/hook")
	require.NoError(t, err)
	st, found, err := c.Load(ctx)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, State{Acked: 41, First: 42, Last: 50}, st)
	require.True(t, st.pending())
	require.NoError(t, c.Close())

	other, err := OpenBoltCursor(dir, "http://127.0.0.1:1/other")
	require.NoError(t, err)
	defer other.Close()
	_, found, err = other.Load(ctx)
	require.NoError(t, err)
	require.False(t, found, "another URL is another webhook")
}

func TestCursorKeyHidesTheURL(t *testing.T) {
	k := cursorKey("https://user:hunter2@example.net/hook?token=s3cret")
	require.NotContains(t, k, "hunter2")
	require.NotContains(t, k, "s3cret")
	require.Regexp(t, `^[A-Za-z0-9_]+$`, k, "a valid NATS KV key")
}

// FuzzDecodeState: a stored cursor decodes whole or is refused.
func FuzzDecodeState(f *testing.F) {
	for _, seed := range []string{`{"acked":41,"first":42,"last":50}`, `{"acked":0}`, `{"first":5,"last":1}`, `{}`, `null`, `{"acked":-1}`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		st, err := decodeState(in)
		if err != nil {
			require.Zero(t, st)
			return
		}
		require.LessOrEqual(t, st.First, st.Last)
		back, err := encodeState(st)
		require.NoError(t, err)
		again, err := decodeState(back)
		require.NoError(t, err)
		require.Equal(t, st, again)
	})
}
