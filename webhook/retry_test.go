package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"0":                             0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"Mon, 30 Nov 2026 10:00:30 GMT": 30 * time.Second,
		"Mon, 30 Nov 2026 09:00:00 GMT": 0, // in the past: at once
	} {
		got, ok := parseRetryAfter(in, now)
		require.True(t, ok, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "-1", "1.5", "soon", "99999999999999999999999"} {
		_, ok := parseRetryAfter(in, now)
		require.False(t, ok, in)
	}
}

func TestRetryWaitHonoursRetryAfterOn429And503Only(t *testing.T) {
	now := time.Now()
	h := http.Header{"Retry-After": {"3"}}
	require.Equal(t, 3*time.Second, retryWait(1, 429, h, time.Millisecond, time.Hour, now))
	require.Equal(t, 3*time.Second, retryWait(5, 503, h, time.Millisecond, time.Hour, now))
	require.LessOrEqual(t, retryWait(1, 500, h, time.Millisecond, time.Hour, now), time.Millisecond,
		"a 500's Retry-After is not the contract's; the backoff applies")
	require.Equal(t, 3*time.Second, retryWait(1, 503, h, time.Millisecond, 10*time.Millisecond, now),
		"honoured beyond the backoff's ceiling")
	require.Equal(t, MaxRetryAfter, retryWait(1, 429, http.Header{"Retry-After": {"864000"}}, time.Second, time.Minute, now),
		"but not for days")
}

func TestBackoffIsFullJitterUnderTheCeiling(t *testing.T) {
	base, ceil := time.Second, 5*time.Minute
	seen := map[time.Duration]bool{}
	for n := 1; n <= 20; n++ {
		top := min(base<<(n-1), ceil)
		for range 50 {
			d := backoff(n, base, ceil)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, top, "try %d", n)
			seen[d] = true
		}
	}
	require.Greater(t, len(seen), 100, "full jitter spreads the waits")
}

// FuzzParseRetryAfter: never a panic, never a negative wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, seed := range []string{"0", "120", "Mon, 30 Nov 2026 10:00:30 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "-5", "", "9223372036854775807"} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		d, ok := parseRetryAfter(in, now)
		if !ok {
			require.Zero(t, d)
			return
		}
		require.GreaterOrEqual(t, d, time.Duration(0))
	})
}
