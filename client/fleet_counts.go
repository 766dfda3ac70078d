package client

import (
	"errors"
	"sync/atomic"

	"github.com/cliser/cliser/protocol"
)

// FleetCounts is a snapshot of what a Fleet has seen so far.
type FleetCounts struct {
	Opened     int64 // TCP connections open on the loops
	DialFailed int64 // Open calls that failed to connect
	Registered int64 // 140s received
	KeepAlives int64 // 100s received and echoed
	Shutdowns  int64 // 130s received and acked
	// Closed counts ended sessions by the server's reason: every 190
	// reason, protocol.ReasonShutdown for an acked 130, and ReasonNone for
	// an unknown 190 text.
	Closed map[protocol.Reason]int64
	// Local ends: closed by us, lost without a 190, bad server input.
	ClosedLocally, Lost, BadServer int64
}

// reasonSlots covers every Reason value the enum can hold.
const reasonSlots = 256

type fleetCounters struct {
	opened, dialFailed, registered, keepAlives, shutdowns atomic.Int64
	byReason                                              [reasonSlots]atomic.Int64
	local, lost, badServer                                atomic.Int64
}

func (c *fleetCounters) closed(err error) {
	var ce *ClosedError
	switch {
	case errors.As(err, &ce):
		c.byReason[ce.Reason].Add(1)
	case errors.Is(err, ErrClosed):
		c.local.Add(1)
	case errors.Is(err, ErrBadServer):
		c.badServer.Add(1)
	default:
		c.lost.Add(1)
	}
}

// Counts returns the counters. Safe from any goroutine.
func (f *Fleet) Counts() FleetCounts {
	c := &f.counts
	out := FleetCounts{
		Opened:        c.opened.Load(),
		DialFailed:    c.dialFailed.Load(),
		Registered:    c.registered.Load(),
		KeepAlives:    c.keepAlives.Load(),
		Shutdowns:     c.shutdowns.Load(),
		Closed:        map[protocol.Reason]int64{},
		ClosedLocally: c.local.Load(),
		Lost:          c.lost.Load(),
		BadServer:     c.badServer.Load(),
	}
	for i := range c.byReason {
		if n := c.byReason[i].Load(); n > 0 {
			out.Closed[protocol.Reason(i)] = n
		}
	}
	return out
}
