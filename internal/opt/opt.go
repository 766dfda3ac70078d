// Package opt holds what the functional options of cliser's packages
// share.
package opt

// Number is what Positive takes: counts and time.Duration.
type Number interface {
	~int | ~int32 | ~int64 | ~uint | ~uint32 | ~uint64 | ~float64
}

// Positive sets *dst to v when v > 0: the options' rule that zero or a
// negative value keeps the default (a ticker can not tick at zero).
func Positive[T Number](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}
