package opt

import (
	"testing"
	"time"
)

func TestPositiveKeepsTheDefaultForZeroAndBelow(t *testing.T) {
	for _, tc := range []struct{ v, want time.Duration }{
		{v: time.Second, want: time.Second},
		{v: 0, want: time.Minute},
		{v: -time.Second, want: time.Minute},
	} {
		got := time.Minute
		Positive(&got, tc.v)
		if got != tc.want {
			t.Errorf("Positive(%v): got %v, want %v", tc.v, got, tc.want)
		}
	}
}
