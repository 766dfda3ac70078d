package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/webhook"
)

// webhookConfig is the settings of webhook delivery (EVENTS.md
// "Webhooks"). The signing secrets are not here: they come from
// CLISER_WEBHOOK_SECRET or the secret file, never from a flag.
type webhookConfig struct {
	url        string
	secretFile string
	batch      int
	linger     time.Duration
	signer     *webhook.Signer // loaded by validate
}

func (c *webhookConfig) addFlags(f *pflag.FlagSet) {
	f.StringVar(&c.url, "webhook-url", "", "POST every event of the log to this URL, signed as Standard Webhooks says (secret: CLISER_WEBHOOK_SECRET)")
	f.StringVar(&c.secretFile, "webhook-secret-file", "", "file of webhook signing secrets whsec_<base64>, space- or line-separated (besides CLISER_WEBHOOK_SECRET)")
	f.IntVar(&c.batch, "webhook-batch", webhook.DefaultBatch, "most events in one webhook request")
	f.DurationVar(&c.linger, "webhook-linger", webhook.DefaultLinger, "longest wait after the oldest event of a webhook batch before it is sent")
}

func (c *webhookConfig) validate(eventsOn bool) error {
	switch {
	case c.url == "":
		return nil
	case !eventsOn:
		return configErrorf("--webhook-url needs the event log: --event-retention must not be 0")
	case c.batch < 1 || c.batch > webhook.MaxBatch:
		return configErrorf("--webhook-batch must be 1..%d, got %d", webhook.MaxBatch, c.batch)
	case c.linger < 0:
		return configErrorf("--webhook-linger must not be negative, got %s", c.linger)
	}
	if err := webhook.CheckURL(c.url); err != nil {
		return configErrorf("--webhook-url: %v", err)
	}
	signer, err := webhook.LoadSecrets(c.secretFile)
	if err != nil { // the error names a bad secret's position, never its text
		return configErrorf("--webhook-url: %v", err)
	}
	c.signer = signer
	return nil
}

// webhookRun is the deliverer on its goroutine; stop ends it.
type webhookRun struct {
	d      *webhook.Deliverer
	cursor *webhook.BoltCursor // single node; nil in a cluster
	cancel context.CancelFunc
	done   chan struct{}
}

// startWebhook starts delivering evlog to --webhook-url (nil when no URL
// is set). Single node: the cursor is a file in the data dir. Cluster:
// the cursor is a KV key every node shares, and only the holder of the
// lease (a KV key with the heartbeat's TTL) delivers, so the cluster sends
// each event once and a lost node's part resumes on another node.
func startWebhook(cfg *serveConfig, evlog events.Reader, b *backend, m *admin.Metrics, log *zap.Logger) (*webhookRun, error) {
	wc := cfg.webhook
	if wc.url == "" { // validate made sure the log is on
		return nil, nil
	}
	var err error
	opts := []webhook.Option{webhook.WithBatch(wc.batch), webhook.WithLinger(wc.linger), webhook.WithLogger(log)}
	run := &webhookRun{done: make(chan struct{})}
	var cursor webhook.Cursor
	if b.node == nil {
		if run.cursor, err = webhook.OpenBoltCursor(cfg.dataDir, wc.url); err != nil {
			return nil, fmt.Errorf("data dir %s: %w", cfg.dataDir, err)
		}
		cursor = run.cursor
	} else {
		cursor, err = clusterWebhook(cfg, b, log, &opts)
		if err != nil {
			return nil, err
		}
	}
	run.d, err = webhook.New(wc.url, evlog, wc.signer, cursor, opts...)
	if err != nil {
		_ = run.cursor.Close()
		return nil, configErrorf("--webhook-url %v", err)
	}
	m.Registry().MustRegister(run.d.Collectors()...)
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	go func() {
		defer close(run.done)
		if err := run.d.Run(ctx); errors.Is(err, webhook.ErrDisabled) {
			log.Error("webhook off until restart: the receiver answered 410 Gone")
		}
	}()
	return run, nil
}

// clusterWebhook makes the cluster's shared cursor and the delivery lease.
func clusterWebhook(cfg *serveConfig, b *backend, log *zap.Logger, opts *[]webhook.Option) (webhook.Cursor, error) {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return nil, fmt.Errorf("webhook: jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cursor, err := webhook.NewKVCursor(ctx, js, cfg.webhook.url, cfg.clusterReplicas)
	if err != nil {
		return nil, err
	}
	lease, err := webhook.NewKVLease(ctx, js, cfg.webhook.url, cfg.nodeID, cfg.clusterHeartbeat, cfg.clusterReplicas, log)
	if err != nil {
		return nil, err
	}
	*opts = append(*opts, webhook.WithLease(lease))
	return cursor, nil
}

// stop ends delivery (a batch in flight is sent again after the restart,
// with the same webhook-id) and closes the cursor. Safe on nil.
func (w *webhookRun) stop() {
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
	_ = w.cursor.Close()
}
