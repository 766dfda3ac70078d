package testkit

import (
	"math"
	"math/rand/v2"
	"time"
)

// KeepAliveRTTs are n keep-alive round trips shaped like a quiet
// machine's subprocess hold (log-normal: median 0.6 ms, p99 4 ms, p999
// 7.4 ms; session 13's rounds read 0.5–0.75, 2–6 and 5–25 ms), the same n
// on every call, so that benchmarks of the RTT histogram weigh its bounds by where
// echoes land rather than by one value.
func KeepAliveRTTs(n int) []time.Duration {
	r := rand.New(rand.NewPCG(17, 17))
	const median, sigma = 600 * time.Microsecond, 0.8156
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
	}
	return out
}
