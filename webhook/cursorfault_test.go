package webhook

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
)

// faultyCursor fails or holds the writes of an acknowledgement (Acked >
// 0) while told to, as a store that is full or does not answer.
type faultyCursor struct {
	Cursor
	mode    atomic.Int32
	refused atomic.Int64 // writes failed or held
}

const (
	cursorWorks int32 = iota
	cursorRefuses
	cursorHangs // until the write's context ends
)

func (c *faultyCursor) Save(ctx context.Context, st State) error {
	if st.Acked == 0 {
		return c.Cursor.Save(ctx, st)
	}
	switch c.mode.Load() {
	case cursorRefuses:
		c.refused.Add(1)
		return errors.New("no space left on device")
	case cursorHangs:
		c.refused.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}
	return c.Cursor.Save(ctx, st)
}

// faulty is a delivery through a faultyCursor.
type faulty struct {
	r    *running
	c    *faultyCursor
	fc   *FileCursor // the cursor c stands in front of
	logs *observer.ObservedLogs
	l    *events.Log
	rc   *receiver
}

// faultyDelivery delivers a log of one event through a faultyCursor in
// mode, and waits for the receiver's acknowledgement.
func faultyDelivery(t *testing.T, mode int32) faulty {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	fc := openCursor(t, dir, rc.srv.URL)
	t.Cleanup(func() { _ = fc.Close() })
	c := &faultyCursor{Cursor: fc}
	c.mode.Store(mode)
	core, logs := observer.New(zapcore.InfoLevel)
	r := startDeliverer(t, rc.srv.URL, l, c, WithLinger(10*time.Millisecond), WithLogger(zap.New(core)))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Acked() == 1 }, "acknowledged")
	return faulty{r: r, c: c, fc: fc, logs: logs, l: l, rc: rc}
}

// A cursor write that failed is tried again though no event comes: the
// log said "retrying", yet the acknowledgement was taken as stored, so a
// quiet webhook kept the fault (and /readyz said so) until its next event.
func TestCursorWriteFailureIsTriedAgain(t *testing.T) {
	f := faultyDelivery(t, cursorRefuses)
	r, c, fc, logs := f.r, f.c, f.fc, f.logs
	eventually(t, func() bool { return c.refused.Load() >= 2 }, "the write tried again, with no new event")
	require.Error(t, r.d.Healthy(), "the fault shows")
	assert.Equal(t, 1, logLines(logs, zapcore.ErrorLevel, "stored cursor can not be written"), "logged once")
	assert.GreaterOrEqual(t, metricValue(t, r.d, MetricCursorErrs, ""), 2.0, "each failure counted")

	c.mode.Store(cursorWorks)
	eventually(t, func() bool {
		st, _, err := fc.Load(t.Context())
		return err == nil && st.Acked == 1
	}, "stored once the store works")
	eventually(t, func() bool { return r.d.Healthy() == nil }, "the fault clears")
	// The line follows the health's clearing (cursorOK): wait for it.
	eventually(t, func() bool { return logLines(logs, zapcore.InfoLevel, "stored cursor works again") > 0 }, "the recovery logged")
	assert.Equal(t, 1, logLines(logs, zapcore.InfoLevel, "stored cursor works again"))
}

// The last write, at stop, that timed out is a failure to say: it was
// dropped without a word, as a write cut short by the stop itself is. The
// write held when the stop comes is cut short by it: not a failure (a
// mutation audit found it countable and loggable, as at every lease lost
// in a cluster, with every test passing).
func TestCursorWriteTimedOutAtStopIsLogged(t *testing.T) {
	f := faultyDelivery(t, cursorHangs)
	r, c, fc, logs := f.r, f.c, f.fc, f.logs
	eventually(t, func() bool { return c.refused.Load() >= 1 }, "a write held when the stop comes")
	require.NoError(t, r.halt())
	assert.EqualValues(t, 2, c.refused.Load(), "the held write, then the stop's")
	assert.Equal(t, 1, logLines(logs, zapcore.ErrorLevel, "stored cursor can not be written"), "%v", logs.All())
	assert.EqualValues(t, 1, metricValue(t, r.d, MetricCursorErrs, ""), "counted")
	st, _, err := fc.Load(t.Context())
	require.NoError(t, err)
	assert.Zero(t, st.Acked, "not stored")
}

// A short batch waits for the write of its bounds: sent unstored, a batch
// whose holder then ended came again from the next holder with other
// bounds, under another webhook-id (a CI run of
// TestClusterFailoverLosesNothing met it).
func TestShortBatchWaitsForItsBoundsToBeStored(t *testing.T) {
	f := faultyDelivery(t, cursorRefuses)
	r, c, fc, rc := f.r, f.c, f.fc, f.rc
	eventually(t, func() bool { return c.refused.Load() >= 1 }, "the acknowledgement's write refused")
	appendN(t, f.l, 1)
	refused := c.refused.Load()
	eventually(t, func() bool { return c.refused.Load() >= refused+2 }, "the bounds' write tried again")
	require.Len(t, rc.requests(), 1, "event 2 not sent while its bounds are not stored")
	assert.EqualValues(t, 1, r.d.Acked())

	c.mode.Store(cursorWorks)
	eventually(t, func() bool { return r.d.Acked() == 2 }, "sent once its bounds are stored")
	reqs := rc.requests()
	require.Len(t, reqs, 2)
	assert.True(t, strings.HasPrefix(reqs[1].id, "msg_2-2_"), "webhook-id %s", reqs[1].id)
	st, _, err := fc.Load(t.Context())
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Acked)
}

// failingReader is a log whose reads fail while told to (a disk error).
type failingReader struct {
	events.Reader
	fail atomic.Bool
}

func (r *failingReader) Read(ctx context.Context, after uint64, limit int) ([]events.Event, error) {
	if r.fail.Load() {
		return nil, errors.New("input/output error")
	}
	return r.Reader.Read(ctx, after, limit)
}

// A log that can not be read is said once an outage, each outage: the
// count of failures in a row starts again at a batch read (a mutation
// audit found its reset droppable with every test passing: a second
// outage was silent, and its retries began at the first one's backoff).
func TestLogReadFailuresAreSaidOnceEachOutage(t *testing.T) {
	l, dir := tempLog(t)
	rc := newReceiver(t, nil)
	lr := &failingReader{Reader: l}
	core, logs := observer.New(zapcore.InfoLevel)
	r := startDeliverer(t, rc.srv.URL, lr, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond), WithLogger(zap.New(core)))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	for outage := 1; outage <= 2; outage++ {
		lr.fail.Store(true)
		appendN(t, l, 1)
		eventually(t, func() bool { return logLines(logs, zapcore.ErrorLevel, "event log can not be read") == outage }, "outage %d said", outage)
		lr.fail.Store(false)
		eventually(t, func() bool { return r.d.Acked() == uint64(outage) }, "delivered once the log reads again")
	}
	assert.Equal(t, 2, logLines(logs, zapcore.ErrorLevel, "event log can not be read"), "once each outage")
}
