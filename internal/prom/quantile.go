package prom

import (
	"math"
	"sort"
)

// BucketQuantile reads the q-quantile (0 < q ≤ 1) of a histogram given as
// cumulative counts cum over upper bounds le (ascending; cum may have one
// count more than le, +Inf's, and le may end in +Inf). upper is the bound
// of the bucket holding the q-th observation: the true value is at or
// below it. within is interpolated linearly inside that bucket, as
// Prometheus' histogram_quantile does (the first bucket starts at 0), and
// is above the bucket's lower bound, so it is at or below a bound b
// exactly when upper is. Both are +Inf when the bucket is +Inf's; ok is
// false when nothing was observed.
func BucketQuantile(q float64, le, cum []float64) (upper, within float64, ok bool) {
	n := len(cum)
	if n == 0 || cum[n-1] <= 0 {
		return 0, 0, false
	}
	rank := q * cum[n-1]
	i := sort.Search(n, func(i int) bool { return cum[i] >= rank })
	if i >= len(le) || math.IsInf(le[i], 1) {
		return math.Inf(1), math.Inf(1), true
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = le[i-1], cum[i-1]
	}
	if cum[i] == below { // q = 0 over empty first buckets
		return le[i], lower, true
	}
	return le[i], lower + (le[i]-lower)*(rank-below)/(cum[i]-below), true
}
