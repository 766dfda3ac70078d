package harness

import (
	"context"
	"errors"
	"fmt"
)

// soakServer is the soak's `cliser serve` and, with FeatureWebhook, the
// receiver of its webhook.
type soakServer struct {
	*cliserProc
	sink *eventSink // nil without the webhook
}

func (s *soakServer) Stop(ctx context.Context) error {
	return errors.Join(s.cliserProc.Stop(ctx), s.sink.close())
}

// startServer starts `cliser serve` on an empty data dir with the soak's
// retentions and features: with identity, every steady and pool id
// enrolled first (and checked to be enforced); with the webhook, a
// receiver here.
func (k *soakRun) startServer(ctx context.Context, env Env) (*soakServer, error) {
	s := k.s
	if err := freshData(env.WorkDir); err != nil {
		return nil, err
	}
	set := s.Load
	o := ServerOptions{Password: set.Password, KeepAlive: set.KeepAlive,
		KeepAliveTimeout: set.KeepAliveTimeout, HandshakeTimeout: set.HandshakeTimeout,
		CliserBin: env.CliserBin, WorkDir: env.WorkDir, Args: s.serverArgs(), Flapping: s.has(FeatureFlapping)}
	if s.has(FeatureIdentity) {
		if err := k.enroll(env.WorkDir); err != nil {
			return nil, err
		}
	}
	srv := &soakServer{}
	if s.has(FeatureWebhook) {
		sink, url, err := startEventSink()
		if err != nil {
			return nil, err
		}
		srv.sink = sink
		args, err := webhookArgs(env.WorkDir, url)
		if err != nil {
			return nil, errors.Join(err, sink.close())
		}
		o.Args = append(o.Args, args...)
	}
	p, err := startCliser(ctx, o)
	if err != nil {
		return nil, errors.Join(err, srv.sink.close())
	}
	srv.cliserProc = p
	if s.has(FeatureIdentity) {
		o.Credentials = k.res.Enrolled
		if err := checkPerClientAuth(ctx, p, o); err != nil {
			return nil, errors.Join(err, srv.Stop(ctx))
		}
	}
	return srv, nil
}

// enroll gives every steady id (the load's, trustPrefix) and pool id a
// credential in the data dir under workDir, before the server starts.
func (k *soakRun) enroll(workDir string) error {
	if err := SeedCredentials(cliserData(workDir), trustKey, trustPrefix, k.steady); err != nil {
		return fmt.Errorf("enrolling %d steady client IDs: %w", k.steady, err)
	}
	if err := SeedCredentials(cliserData(workDir), trustKey, poolPrefix, k.s.Pool); err != nil {
		return fmt.Errorf("enrolling %d pool client IDs: %w", k.s.Pool, err)
	}
	k.res.Enrolled = k.steady + k.s.Pool
	return nil
}

// endFeatures notes what the features' receiver and counts saw, and as
// problems what a fleet must not see: a ban or an event dropped, a
// webhook that did not catch up once the churn stopped, a body the
// receiver could not read.
func (k *soakRun) endFeatures(sink *eventSink, ch *churner) {
	res, end := k.res, k.res.End
	if len(k.s.Features) == 0 {
		return
	}
	res.BusiestID = ch.busiest.Load()
	if end.FlappingBans > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d flapping bans: the busiest pool id registered %d times within %s (the server's limit: %d)",
			end.FlappingBans, res.BusiestID, flapWindow, flapLimit))
	}
	if end.BansActive > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d bans active at the end", end.BansActive))
	}
	if end.EventsDropped > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d events dropped (the log's queue and the webhook)", end.EventsDropped))
	}
	if sink == nil {
		return
	}
	c := sink.counts()
	res.Webhook = &c
	if end.WebhookLag > 0 || int64(c.NewestSeq) < end.EventsNewest {
		res.Problems = append(res.Problems, fmt.Sprintf("the webhook did not catch up: lag %d events, the receiver's newest seq %d of %d",
			end.WebhookLag, c.NewestSeq, end.EventsNewest))
	}
	if c.BadBodies > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d webhook bodies the receiver could not read", c.BadBodies))
	}
}
