package webhook

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cliser/cliser/events"
)

// The delivery loop: batches read from the cursor on, sent, and the
// cursor's writes paced so that a restart sends again at most a second's.

// cursorEvery is how often at most the cursor is written while batches
// keep going out (see saveWhenDue).
const cursorEvery = time.Second

// deliver sends batches from the stored cursor on until ctx ends; from
// the cursor again, checked again, whenever the log is found made anew.
func (d *Deliverer) deliver(ctx context.Context) error {
	for {
		err := d.deliverFromCursor(ctx)
		if ctx.Err() != nil || !errors.Is(err, errRenewed) {
			return err
		}
	}
}

// errRenewed ends a deliverFromCursor whose log was made anew.
var errRenewed = errors.New("webhook: the event log was made anew")

// deliverFromCursor is deliver until ctx ends or the log is made anew.
func (d *Deliverer) deliverFromCursor(ctx context.Context) error {
	if d.renew != nil {
		// Before the cursor is checked: a stream made anew after the
		// check, or during it, ends this run and the next checks again.
		d.renewed = d.renew.Renewed()
		renewed := d.renewed
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-renewed:
				cancel(errRenewed)
			case <-ctx.Done():
			}
		}()
	}
	st, err := d.start(ctx)
	if err != nil {
		return renewedOr(ctx, err)
	}
	d.delivering.Store(true)
	defer d.delivering.Store(false)
	if d.direct != nil {
		defer d.direct.close()
	}
	p := progress{st: st, saved: st}
	defer d.saveOnStop(ctx, &p)
	for ctx.Err() == nil {
		d.saveWhenCaughtUp(ctx, &p)
		batch, err := d.nextBatch(ctx, p.st)
		if err != nil || len(batch) == 0 {
			d.notRead(ctx, &p, err) // it may wait; the loop stops if ctx ended
			continue
		}
		p.failures = 0
		if err := d.sendBatch(ctx, &p, batch); err != nil {
			return renewedOr(ctx, err)
		}
	}
	return renewedOr(ctx, ctx.Err())
}

// renewedOr is errRenewed when that is why ctx ended, else err.
func renewedOr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errRenewed) {
		return errRenewed
	}
	return err
}

// progress is where a deliver stands: st is the cursor as it would be
// stored now, saved what the store holds, unsavedAt when the oldest
// acknowledgement it does not hold came (zero: none).
type progress struct {
	st, saved State
	unsavedAt time.Time
	failures  int // reads of the log failed in a row
}

// saveProgress stores p's cursor, and reports whether it did. A write that
// failed is tried again cursorEvery later (by saveWhenCaughtUp,
// saveWhenDue or saveBounds), and at stop.
func (d *Deliverer) saveProgress(ctx context.Context, p *progress) bool {
	if d.save(ctx, p.st) {
		p.saved, p.unsavedAt = p.st, time.Time{}
		return true
	}
	p.unsavedAt = time.Now()
	return false
}

// saveOnStop stores what was acknowledged since the last write, when
// stopping; not when the lease was lost (another node may be ahead by
// now). A holder that stops holds the lease until Run releases it, after
// this: the next holder resumes where it stopped, not up to a second of
// batches before (a rolling restart sent the receiver those again).
func (d *Deliverer) saveOnStop(ctx context.Context, p *progress) {
	stopping := d.o.lease == nil || (d.stopped != nil && d.stopped.Err() != nil)
	if stopping && p.st.Acked > p.saved.Acked {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		d.save(sctx, State{Acked: p.st.Acked})
		cancel()
	}
}

// saveWhenCaughtUp stores the cursor when caught up and nothing new came
// within a second of the oldest acknowledgement not stored: it and what
// came since. A write that fails is tried each second until it is done or
// an event comes.
func (d *Deliverer) saveWhenCaughtUp(ctx context.Context, p *progress) {
	for p.st.Acked > p.saved.Acked && !d.waitEvents(ctx, p.st.Acked, p.unsavedAt.Add(cursorEvery)) && ctx.Err() == nil {
		d.saveProgress(ctx, p)
	}
}

// nextBatch reads the batch in flight again, else the next one.
func (d *Deliverer) nextBatch(ctx context.Context, st State) ([]events.Raw, error) {
	if st.pending() {
		return d.readPending(ctx, st)
	}
	return d.collect(ctx, st.Acked)
}

// notRead handles a read of the log that gave no batch: events lost to
// the retention are skipped, a failure is logged once and retried after
// a backoff, and nothing where the cursor says a batch was in flight (a
// log wiped under its cursor) starts afresh after it.
func (d *Deliverer) notRead(ctx context.Context, p *progress, err error) {
	switch gone := goneError(err); {
	case gone != nil:
		p.st = d.skipLost(p.st, gone)
		d.saveProgress(ctx, p)
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		p.failures++
		if p.failures == 1 {
			d.zl.Error("webhook: the event log can not be read; retrying", zap.Error(err))
		}
		sleep(ctx, backoff(p.failures, d.o.backoffMin, d.o.backoffMax))
	default:
		p.st.First, p.st.Last = 0, 0
		sleep(ctx, 10*time.Millisecond)
	}
}

// sendBatch sends batch and takes its acknowledgement; a short batch is
// stored before it goes, so that a restart sends it again with the same
// id and body. A full one needs no write: read again after the same acked
// seq, it is the same batch (that halves the cursor's syncs in a storm).
func (d *Deliverer) sendBatch(ctx context.Context, p *progress, batch []events.Raw) error {
	first, last := batch[0].Seq, batch[len(batch)-1].Seq
	if (p.st.First != first || p.st.Last != last) && len(batch) < d.o.batch {
		p.st.First, p.st.Last = first, last
		if !d.saveBounds(ctx, p) {
			return ctx.Err()
		}
	}
	if err := d.send(ctx, batch); err != nil {
		return err
	}
	p.st = State{Acked: last}
	d.acked.Store(last)
	d.m.delivered.Add(float64(len(batch)))
	d.saveWhenDue(ctx, p)
	return nil
}

// saveBounds stores a short batch's bounds before it goes, trying each
// cursorEvery until the store takes them; false when ctx ended first. Sent
// unstored, a batch whose holder then ended came again from the next
// holder with other bounds, under another webhook-id (a CI run met it).
func (d *Deliverer) saveBounds(ctx context.Context, p *progress) bool {
	for !d.saveProgress(ctx, p) {
		if !sleep(ctx, cursorEvery) {
			return false
		}
	}
	return true
}

// saveWhenDue stores the cursor once the oldest acknowledgement it does
// not hold is cursorEvery old. So the cursor is written within
// cursorEvery of an acknowledgement: then; else by the next short batch's
// write before it goes, or by saveWhenCaughtUp once no event came in
// time. A crash then sends again at most a second's acknowledged batches
// (the same batches with the same ids: each stretch between two writes is
// full batches only, as a short one is written before it goes), and a
// storm's hundreds of batches, full or cut short by the linger, are not as
// many synced writes. Paced by the oldest unstored acknowledgement, not by
// the last write: a burst after a quiet spell is not written at its first
// batch as well as at its end (three writes a burst, now two).
func (d *Deliverer) saveWhenDue(ctx context.Context, p *progress) {
	if p.unsavedAt.IsZero() {
		p.unsavedAt = time.Now()
	}
	if time.Since(p.unsavedAt) >= cursorEvery {
		d.saveProgress(ctx, p)
	}
}

// waitEvents reports whether an event after seq after exists by
// deadline (false also when ctx ends).
func (d *Deliverer) waitEvents(ctx context.Context, after uint64, deadline time.Time) bool {
	if d.log.Newest() > after {
		return true // in a storm, nearly always: no timer to set
	}
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return d.log.Wait(wctx, after) == nil
}
