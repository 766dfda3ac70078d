package webhook

import (
	"context"
	"time"

	"github.com/cliser/cliser/events"
)

// collect waits for events after seq after and gathers a batch: it is
// full at the batch size, or sent as it is once linger has passed since
// its oldest event happened (a backlog's old events go at once). It reads
// the log at most twice a batch: during a storm the log grows by a few
// events a write, and waking for each would cost a read each.
func (d *Deliverer) collect(ctx context.Context, after uint64) ([]events.Raw, error) {
	if err := d.log.Wait(ctx, after); err != nil {
		return nil, err
	}
	batch, err := d.read(ctx, nil, after, d.o.batch)
	if err != nil || len(batch) == 0 || len(batch) == d.o.batch {
		return batch, err
	}
	now := time.Now()
	// The event's own time bounds the linger, and so does our clock: a
	// peer node's clock may be ahead.
	deadline := now.Add(d.o.linger)
	if t := batch[0].Time().Add(d.o.linger); t.Before(deadline) {
		deadline = t
	}
	if now.Before(deadline) {
		// Seqs are contiguous: the batch is full once this one exists.
		wctx, cancel := context.WithDeadline(ctx, deadline)
		err := d.log.Wait(wctx, after+uint64(d.o.batch)-1)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	last := batch[len(batch)-1].Seq
	more, err := d.read(ctx, batch, last, d.o.batch-len(batch))
	if err != nil {
		return batch, nil // send what we have; the next round sees the error
	}
	return more, nil
}

// readPending reads again the batch that was in flight when the last run
// stopped, so that it goes out with the same webhook-id and body.
func (d *Deliverer) readPending(ctx context.Context, st State) ([]events.Raw, error) {
	n := int(min(st.Last-st.Acked, MaxBatch))
	batch, err := d.read(ctx, nil, st.Acked, n)
	if err != nil {
		return nil, err
	}
	for i, e := range batch {
		if e.Seq > st.Last {
			return batch[:i], nil
		}
	}
	return batch, nil
}

// read appends up to limit events after seq after to batch (nil: start
// a new batch) as their JSON: as stored when the log can give it so (the
// single-node log), else decoded and encoded again (the cluster's
// stream). A new batch reuses the last one's buffers: the batch before
// was answered, and a storm's thousands of batches then make no garbage
// here.
func (d *Deliverer) read(ctx context.Context, batch []events.Raw, after uint64, limit int) ([]events.Raw, error) {
	buf := d.rawBuf
	if batch == nil {
		batch, buf = d.raws[:0], buf[:0]
	}
	var err error
	if d.raw != nil {
		batch, buf, err = d.raw.AppendRaw(ctx, batch, buf, after, limit)
	} else {
		batch, buf, err = d.readEncoded(ctx, batch, buf, after, limit)
	}
	d.raws, d.rawBuf = batch, buf
	return batch, err
}

// readEncoded is read of a log that keeps no JSON (the cluster's stream).
func (d *Deliverer) readEncoded(ctx context.Context, batch []events.Raw, buf []byte, after uint64, limit int) ([]events.Raw, []byte, error) {
	evs, err := d.log.Read(ctx, after, limit)
	if err != nil {
		return batch, buf, err
	}
	for i := range evs {
		start := len(buf)
		if buf, err = events.AppendJSON(buf, &evs[i]); err != nil {
			return batch, buf, err
		}
		batch = append(batch, events.Raw{Seq: evs[i].Seq, JSON: buf[start:len(buf):len(buf)]})
	}
	return batch, buf, nil
}
