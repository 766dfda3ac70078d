package testkit

import (
	"testing"
	"time"
)

// Recv returns the next value from ch (the zero value once ch is closed);
// the test fails with failMsg if none comes within d.
func Recv[T any](t testing.TB, ch <-chan T, d time.Duration, failMsg string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatal(failMsg)
		var zero T
		return zero
	}
}
