package harness

import (
	"context"
	"time"

	"github.com/cliser/cliser/bench/load"
)

// shutdown orders every client down and times the acks and closes.
func (r *runner) shutdown(ctx context.Context) error {
	before, err := r.fleet.Counts()
	if err != nil {
		return err
	}
	sd := &r.res.Shutdown
	sd.Registered = before.Registered
	stopProfile := r.startProfile("shutdown")
	defer stopProfile()
	acks := r.startShutdownSched()
	t0 := time.Now()
	sd.Sent, err = r.srv.Shutdown(ctx)
	if err != nil {
		r.problem("shutdown order: %v", err)
		return nil
	}
	deadline := t0.Add(r.set.ShutdownWait)
	var after load.Stats
	for {
		after, err = r.fleet.Counts()
		if err != nil {
			return err
		}
		if sd.ToAcks == nil && after.ShutdownAcks-before.ShutdownAcks >= sd.Registered {
			sd.ToAcks = acks(t0)
		}
		closed := after.ClosedAfterAck - before.ClosedAfterAck
		failed := after.ErrorTotal() - before.ErrorTotal()
		if closed+failed >= sd.Registered || time.Now().After(deadline) {
			break
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	sd.Acked = after.ShutdownAcks - before.ShutdownAcks
	sd.Closed = after.ClosedAfterAck - before.ClosedAfterAck
	sd.FirstOrder = msSince(t0, after.FirstOrder)
	sd.LastAck = msSince(t0, after.LastAck)
	sd.LastClose = msSince(t0, after.LastClose)
	r.say("shutdown: sent %d, acked %d, closed %d of %d; last 130 ok at %.1fms, last close at %.1fms",
		sd.Sent, sd.Acked, sd.Closed, sd.Registered, sd.LastAck, sd.LastClose)
	if sd.Acked != sd.Registered || sd.Closed != sd.Registered {
		r.problem("shutdown: %d registered, %d acked, %d closed by the server", sd.Registered, sd.Acked, sd.Closed)
	}
	return nil
}
