// Package registrytest holds the fixtures the tests of registry.Record's
// two encodings share: the cluster bucket's JSON (package cluster) and the
// registry store's records (package registry/logstore).
package registrytest

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// The instants the record encodings' golden cases are written at: the
// cluster bucket's JSON and the registry store's records pin the same two,
// whole seconds and nanoseconds that must survive a round trip.
var (
	RecordT0 = time.Date(2026, 11, 25, 19, 1, 58, 0, time.UTC)
	RecordT1 = time.Date(2026, 11, 25, 19, 2, 28, 123456789, time.UTC)
)

// FutureReason is the Reason this build keeps for text, a close reason a
// newer version wrote. It panics on a text no version could write (a
// test's typo), so it is for test tables only.
func FutureReason(text string) protocol.Reason {
	var r protocol.Reason
	if err := r.UnmarshalText([]byte(text)); err != nil {
		panic(err)
	}
	return r
}
