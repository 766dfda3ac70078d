package harness

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/protocol"
)

// soakRun is one Soak call: its settings, how many of its clients the
// load engine holds (steady), and the result its steps fill in.
type soakRun struct {
	s        SoakSettings
	progress io.Writer
	steady   int
	res      *SoakResult
}

func (k *soakRun) say(format string, args ...any) {
	fmt.Fprintf(k.progress, "soak  "+format+"\n", args...)
}

// closeLoad ends the steady clients, a failure to a problem of the soak.
func (k *soakRun) closeLoad(fl fleet) {
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fl.Close(cctx); err != nil {
		k.res.Problems = append(k.res.Problems, "closing the load: "+err.Error())
	}
}

// fillPool registers the churn's pool clients, from their own sources.
func (k *soakRun) fillPool(srv *soakServer) *churner {
	set := k.s.Load
	ch := newChurner(srv.Addr(), set.Password, []string{"127.41.0.1", "127.41.0.2"}, k.s.Pool, set.HandshakeTimeout)
	if k.s.has(FeatureIdentity) {
		ch.secret = func(id string) string { return load.Secret(trustKey, id) }
		ch.admin = srv.admin
	}
	ch.evenly = k.s.has(FeatureFlapping)
	ch.fill()
	k.say("%d pool clients registered; churn at %.0f/s for %s", k.s.Pool, k.s.ChurnRate, k.s.Duration)
	return ch
}

// churnAndSample runs the churn for the soak's duration and samples the
// server every SampleEvery meanwhile.
func (k *soakRun) churnAndSample(ctx context.Context, ch *churner, sampler soakSampler) {
	t0 := time.Now()
	churnCtx, stopChurn := context.WithTimeout(ctx, k.s.Duration)
	defer stopChurn()
	var wg sync.WaitGroup
	wg.Go(func() { runChurn(churnCtx, ch, k.s.ChurnRate) })
	tick := time.NewTicker(k.s.SampleEvery)
	for done := false; !done; {
		select {
		case <-tick.C:
			k.sample(ctx, ch, sampler, t0)
		case <-churnCtx.Done():
			done = true
		}
	}
	tick.Stop()
	wg.Wait()
}

// sample adds a sample of the server, with the seconds since the churn
// began and its operations so far; a failed one is a problem.
func (k *soakRun) sample(ctx context.Context, ch *churner, sampler soakSampler, t0 time.Time) {
	sm, err := sampler.sample(ctx)
	if err != nil {
		k.res.Problems = append(k.res.Problems, "sample: "+err.Error())
		return
	}
	sm.At = time.Since(t0).Seconds()
	ops, _, _ := ch.snapshot()
	sm.ChurnOps = sumErrors(ops)
	k.res.Samples = append(k.res.Samples, sm)
	k.say("t=%4.0fs rss=%s (anon %s, file %s, heap in use %s, data file %s) goroutines=%d fds=%d connected=%d ops=%d",
		sm.At, mib(sm.RSS), mib(sm.RSSAnon), mib(sm.RSSFile), mib(sm.HeapInuse), mib(sm.DataBytes),
		sm.Goroutines, sm.FDs, sm.Connected, sm.ChurnOps)
	if len(k.s.Features) > 0 {
		k.say("       events.db=%s newest seq=%d webhook lag=%d delivered=%d credentials=%d bans=%d flapping bans=%d",
			mib(sm.EventsBytes), sm.EventsNewest, sm.WebhookLag, sm.WebhookDelivered, sm.Credentials, sm.BansActive, sm.FlappingBans)
	}
}

// end reconnects every pool client, takes one last look, counts what
// the churn and the steady clients saw, and judges the samples.
func (k *soakRun) end(ctx context.Context, ch *churner, sampler soakSampler, fl fleet, sink *eventSink) {
	res := k.res
	ch.refill()
	var received func() int64
	if sink != nil {
		received = func() int64 { return int64(sink.counts().NewestSeq) }
	}
	res.End, res.Lost = soakEnd(ctx, sampler, k.s.Clients, received)
	res.Ops, res.Errors, res.Expected = ch.snapshot()
	res.Takeovers = res.Expected["190 "+protocol.ReasonReplaced.String()]
	k.countSteady(fl)
	ch.closeAll()
	_, churnErrs, _ := ch.snapshot()
	res.Errors = mergeCounts(res.Errors, churnErrs)
	res.Verdict = JudgeSoak(res.Samples, k.s)
}

// countSteady adds the steady clients' errors, and a problem when any of
// them is not registered at the end.
func (k *soakRun) countSteady(fl fleet) {
	res := k.res
	st, err := fl.Counts()
	if err != nil {
		res.Problems = append(res.Problems, "load counts: "+err.Error())
		return
	}
	for kind, n := range st.Errors {
		res.Errors["steady: "+kind] += n
	}
	if int(st.Registered) != k.steady {
		res.Problems = append(res.Problems, fmt.Sprintf("%d of %d steady clients registered at the end", st.Registered, k.steady))
	}
}
