package prom

import (
	"math"
	"strconv"
)

// KeepAliveRTTBuckets are the upper bounds, in seconds, of the keep-alive
// RTT histogram (admin's cliser_keepalive_rtt_seconds, and the benchmark
// floor's copy of it), so that two servers' tails are read the same way.
//
// Where tails live (0.5–30 ms) the bounds are 2 ms × 5^(i/30) to three
// significant digits: 4.7–6.0% apart, so a 10% difference between two
// servers' p99 moves it at least one bucket (issue 17 judges the
// variants "within 10%"). 2 ms and 10 ms are on that series, so "p99 ≤
// 2 ms, p999 ≤ 10 ms" is judged exactly rather than up to the next bound.
// Below and above it a few coarse steps reach 0.1 ms and the default
// keep-alive timeout (10 s), past which a client is dropped.
var KeepAliveRTTBuckets = rttBuckets()

// RTTStep is the widest ratio of one bound to the one before it between
// RTTFineFrom and RTTFineTo.
const (
	RTTStep     = 1.06
	RTTFineFrom = 0.0005 // seconds
	RTTFineTo   = 0.030
)

// rttFinePerFive is how many bounds the fine range has per factor of 5
// (2 ms to 10 ms); rttFineLow and rttFineHigh are its ends, in such steps
// from 2 ms: 0.496 ms and 30.9 ms.
const (
	rttFinePerFive          = 30
	rttFineLow, rttFineHigh = -26, 51
)

func rttBuckets() []float64 {
	out := []float64{.0001, .0002, .0003, .0004}
	for i := rttFineLow; i <= rttFineHigh; i++ {
		out = append(out, threeDigits(.002*math.Pow(5, float64(i)/rttFinePerFive)))
	}
	return append(out, .04, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10)
}

// threeDigits rounds v to three significant digits and returns the float
// nearest that decimal, so /metrics prints le="0.00211", not 17 digits.
func threeDigits(v float64) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'e', 2, 64), 64)
	if err != nil {
		panic(err) // FormatFloat's output always parses
	}
	return f
}
