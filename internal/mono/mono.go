// Package mono keeps instants of this process in an int64, for atomics,
// on the monotonic clock: a wall clock stepped by NTP, a VM's resume or a
// wrong clock at boot does not move them. time.Now().UnixNano() did: an
// hour's step back held a one-hour grace or a log gate shut for an hour
// more, a step forward ended it at once (clock audit).
//
// An instant shown to people (last_seen, "since" in /readyz) is a wall
// time and stays one; this is for what is measured against now.
package mono

import "time"

// epoch carries the monotonic reading the others are measured from.
var epoch = time.Now()

// Now is nanoseconds since the process began, never 0: callers keep 0
// for "none". Safe from any goroutine.
func Now() int64 { return int64(time.Since(epoch)) + 1 }

// Since is how long ago the instant ns (a Now) was.
func Since(ns int64) time.Duration { return time.Duration(Now() - ns) }

// Time is the instant ns as a time.Time, comparable with time.Now()'s and
// printed as the wall clock reads now.
func Time(ns int64) time.Time { return time.Now().Add(-Since(ns)) }
