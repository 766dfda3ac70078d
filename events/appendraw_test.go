package events_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// AppendRaw into buffers an earlier call returned (holding that call's
// JSON) gives what ReadRaw gives, from memory and from the file, in two
// calls that extend one batch as webhook delivery does; once the buffers
// are large enough a read from memory allocates nothing.
func TestLogAppendRawReusesBuffers(t *testing.T) {
	path := filepath.Join(t.TempDir(), events.FileName)
	l := openLog(t, path)
	const total = 3000
	for i := range total {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: fmt.Sprintf("c%d", i), Session: "s"}))
	}
	waitNewest(t, l, total)
	ctx := context.Background()
	check := func(l *events.Log) {
		var out []events.Raw
		var buf []byte
		for _, after := range []uint64{0, 1234, 2950, total} {
			want, err := l.ReadRaw(ctx, after, 100)
			require.NoError(t, err)
			out, buf, err = l.AppendRaw(ctx, out[:0], buf[:0], after, 60)
			require.NoError(t, err)
			if len(out) > 0 {
				out, buf, err = l.AppendRaw(ctx, out, buf, out[len(out)-1].Seq, 40)
				require.NoError(t, err)
			}
			require.Len(t, out, len(want), "after %d", after)
			for i := range want {
				require.Equal(t, want[i].Seq, out[i].Seq)
				require.Equal(t, string(want[i].JSON), string(out[i].JSON), "seq %d", want[i].Seq)
			}
		}
	}
	check(l) // the newest events, from memory
	out, buf, err := l.AppendRaw(ctx, nil, nil, 2000, 100)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(20, func() {
		out, buf, err = l.AppendRaw(ctx, out[:0], buf[:0], 2000, 100)
	})
	require.NoError(t, err)
	require.Len(t, out, 100)
	require.Zero(t, allocs, "a read from memory into buffers large enough")

	require.NoError(t, l.Close())
	l = openLog(t, path) // nothing in memory: from the file
	defer l.Close()
	check(l)
}
