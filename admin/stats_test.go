package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/reactor"
)

// GET /v1/stats follows real traffic: counts now, a series that grows each
// interval, handshakes per second, disconnects by reason and RTT quantiles.
func TestStatsFollowTraffic(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{
		reactorOpts: []reactor.Option{reactor.WithKeepAlive(30*time.Millisecond, 5*time.Second)},
		apiOpts:     []admin.Option{admin.WithStatsInterval(50 * time.Millisecond)},
	})
	read := func() admin.StatsResponse {
		var st admin.StatsResponse
		r := s.call(t, http.MethodGet, "/v1/stats", "")
		require.Equal(t, http.StatusOK, r.status)
		r.decode(t, &st)
		return st
	}
	st := read()
	assert.Zero(t, st.Connected)
	assert.Nil(t, st.RTTP50Seconds, "no keep-alive answered yet")
	assert.Equal(t, 0.05, st.IntervalSeconds)

	echo := s.connect(t, "st-echo")
	kicked := s.connect(t, "st-kicked")
	go func() {
		for {
			line, err := echo.R.ReadString('\n')
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "100 ") {
				_, _ = echo.Conn.Write([]byte(line))
			}
		}
	}()
	require.Equal(t, http.StatusAccepted, s.call(t, http.MethodPost, "/v1/clients/st-kicked/kick", "").status)
	kicked.AnswerKeepAlives = true
	kicked.ExpectClosed(closeLine(protocol.ReasonKicked))

	eventually(t, func() bool {
		st = read()
		return st.Disconnects["kicked"] == 1 && st.RTTP50Seconds != nil && st.HandshakesPerS > 0 &&
			len(st.Series) >= 3 && st.Series[len(st.Series)-1].Connected == 1
	}, "stats follow the traffic")
	assert.Equal(t, 1, st.Connected)
	assert.Equal(t, 2, st.Records)
	assert.LessOrEqual(t, *st.RTTP50Seconds, *st.RTTP99Seconds)
	assert.Less(t, *st.RTTP99Seconds, 5.0)
	for i := 1; i < len(st.Series); i++ {
		assert.GreaterOrEqual(t, st.Series[i].Time, st.Series[i-1].Time, "the series is oldest first")
	}
}
