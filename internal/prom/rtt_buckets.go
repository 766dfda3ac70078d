package prom

// KeepAliveRTTBuckets are the upper bounds, in seconds, of the keep-alive
// RTT histogram (admin's cliser_keepalive_rtt_seconds, and the benchmark
// floor's copy of it), so that two servers' tails are read the same way.
// Quarter-to-half-millisecond steps up to 3 ms and steps of 1–2.5 ms up
// to 15 ms resolve the tail a fleet on one network has; 2 ms and 10 ms
// are bounds of their own, so "p99 ≤ 2 ms, p999 ≤ 10 ms" (issue 17) is
// judged exactly rather than up to the next bound. The rest reaches the
// default keep-alive timeout (10 s), past which a client is dropped.
var KeepAliveRTTBuckets = []float64{
	.0001, .00025, .0005, .00075, .001, .00125, .0015, .00175, .002, .0025, .003,
	.004, .005, .006, .0075, .01, .0125, .015, .02, .025, .05,
	.1, .25, .5, 1, 2.5, 5, 10,
}
