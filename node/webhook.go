package node

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/natsretry"
	"github.com/cliser/cliser/webhook"
)

// webhookRun is the deliverer on its goroutine; stop ends it.
type webhookRun struct {
	d      *webhook.Deliverer
	cursor *webhook.FileCursor // single node; nil in a cluster
	cancel context.CancelFunc
	done   chan struct{}
}

// startWebhook starts delivering evlog to --webhook-url (nil when no URL
// is set). Single node: the cursor is a file in the data dir. Cluster:
// the cursor is a KV key every node shares, and only the holder of the
// lease (a KV key with the heartbeat's TTL) delivers, so the cluster sends
// each event once and a lost node's part resumes on another node.
func startWebhook(o *options, evlog events.Reader, b *backend, m *admin.Metrics) (*webhookRun, error) {
	wc, log := o.hook, o.log
	if wc.URL == "" {
		m.Registry().MustRegister(webhook.OffCollectors()...)
		m.Registry().MustRegister(webhook.NoFileCursorCollectors()...)
		return nil, nil
	}
	if evlog == nil {
		return nil, configErrorf("--webhook-url needs the event log: --event-retention must not be 0")
	}
	var err error
	opts := []webhook.Option{webhook.WithBatch(wc.Batch), webhook.WithLinger(wc.Linger), webhook.WithLogger(log)}
	run := &webhookRun{done: make(chan struct{})}
	var cursor webhook.Cursor
	if b.node == nil {
		if run.cursor, err = webhook.OpenFileCursor(o.dataDir, wc.URL, webhook.CursorLogger(log)); err != nil {
			return nil, dataDirError(o.dataDir, err)
		}
		cursor = run.cursor
		m.Registry().MustRegister(run.cursor.Collectors()...)
	} else {
		cursor, err = clusterWebhook(o, b, &opts)
		if err != nil {
			return nil, err
		}
		m.Registry().MustRegister(webhook.NoFileCursorCollectors()...)
	}
	run.d, err = webhook.New(wc.URL, evlog, wc.Signer, cursor, opts...)
	if err != nil {
		_ = run.cursor.Close()
		return nil, configErrorf("--webhook-url %v", err)
	}
	m.Registry().MustRegister(run.d.Collectors()...)
	// Before the listener: the first clients' events are the webhook's.
	// In a cluster, of nodes starting together the first one's start
	// stands; left to the lease holder's first run, it came after the
	// clients that connected meanwhile, to this node or another. A
	// failure here is Run's to retry, log and count.
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = run.d.Begin(bctx)
	bcancel()
	ctx, cancel := context.WithCancel(context.Background())
	run.cancel = cancel
	go func() {
		defer close(run.done)
		_ = run.d.Run(ctx) // a 410's ErrDisabled is logged by the deliverer, once
	}()
	return run, nil
}

// clusterWebhook makes the cluster's shared cursor and the delivery lease.
func clusterWebhook(o *options, b *backend, opts *[]webhook.Option) (webhook.Cursor, error) {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return nil, fmt.Errorf("webhook: jetstream: %w", err)
	}
	// The budget of the cluster's other buckets: nodes started together
	// on a fresh NATS cluster meet here too (natsretry.Setup).
	ctx, cancel := natsretry.SetupContext(context.Background(), o.log)
	defer cancel()
	cursor, err := webhook.NewKVCursor(ctx, js, o.hook.URL, o.replicas)
	if err != nil {
		return nil, err
	}
	lease, err := webhook.NewKVLease(ctx, js, o.hook.URL, o.nodeID, b.node.HeartbeatTTL(), o.replicas, o.log) // the cluster's, as its heartbeats
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
