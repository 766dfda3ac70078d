package reactor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// A session keeps its tick in 32 bits: across the wrap of the tick count
// nothing fires early or late, and a due reads back whole.
func TestWheelAcrossTheTickWrap(t *testing.T) {
	const res = 10
	start := int64(1<<32-50) * res // 50 ticks before the wrap
	w := newWheel(res, start)
	dues := map[*session]int64{}
	for due := start - 5; due <= start+3000; due += 7 { // past dues too; crosses the wrap and rounds
		s := newTestSession()
		w.schedule(s, due)
		want := max((due+res-1)/res, start/res) * res
		require.Equal(t, want, w.dueAt(s), "due %d", due)
		dues[s] = due
	}
	requireFiredOnTime(t, w, dues, start, start+3100, 3)
}

// Keep-alives go on across the wrap of the wheel's tick count, and a
// silent client's timeout straddling it closes it on time, not early.
func TestKeepAlivesAcrossTheTickWrap(t *testing.T) {
	const tick, interval, timeout = time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond
	reg := registry.New()
	srv, err := New(reg, WithAddr("127.0.0.1:0"), WithPasswords([][]byte{[]byte(testPassword)}),
		WithLoops(1), WithKeepAlive(interval, timeout), WithTick(tick), WithLogger(zaptest.NewLogger(t)))
	require.NoError(t, err)
	// The loops' clock starts 450ms before their tick count wraps.
	wrapAt := time.Now().Add(450 * time.Millisecond)
	srv.epoch = wrapAt.Add(-(1 << 32) * tick)
	require.NoError(t, srv.Start())
	testkit.StopAtEnd(t, srv.Stop)
	ts := &testServer{Server: srv, reg: reg}

	silent := ts.connect(t, "wrap-silent") // its first keep-alive's timeout straddles the wrap
	echo := ts.connect(t, "wrap-echo")
	seen := map[string]bool{}
	for time.Now().Before(wrapAt.Add(3 * interval)) {
		tok := echo.EchoKeepAlive()
		assert.False(t, seen[tok], "token %s repeated", tok)
		seen[tok] = true
	}
	ts.waitDisconnected(t, "wrap-silent", protocol.ReasonKeepaliveTimeout)
	rec, _ := reg.Get("wrap-silent")
	assert.GreaterOrEqual(t, rec.DisconnectedAt.Sub(rec.ConnectedAt), interval+timeout, "closed early")
	assert.Regexp(t, `^100 \d+$`, silent.ReadLine(), "its keep-alive, unanswered")
	silent.ExpectClosed(closeLine(protocol.ReasonKeepaliveTimeout))
	rec, _ = reg.Get("wrap-echo")
	assert.True(t, rec.CStatus, "the echoing client stays")
	assert.GreaterOrEqual(t, len(seen), 3)
}

// The tick count is wrap-safe within maxTicksAhead: a tick set too fine
// for the longest duration is refused, and the default one is made
// coarse enough.
func TestTickFineEnoughForTheLongestDuration(t *testing.T) {
	o := defaultOptions()
	o.passwords = [][]byte{[]byte(testPassword)}
	o.keepInterval, o.tick = 20*24*time.Hour, time.Millisecond
	require.ErrorIs(t, o.validate(), ErrBadOption)
	o.tick = 0
	require.NoError(t, o.validate())
	assert.Less(t, int64(o.keepInterval/o.tick), int64(maxTicksAhead))
}
