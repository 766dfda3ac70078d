package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/registry/boltstore"
)

// backend is where the registry writes behind: bbolt in --data-dir (the
// default, one node), or the cluster's bucket on NATS JetStream
// (--cluster). Close releases it after the registry's last flush.
type backend struct {
	registry.Store
	node *cluster.Node // nil on a single node
	nc   *nats.Conn
}

func openBackend(cfg *serveConfig, log *zap.Logger, extra ...cluster.Option) (*backend, error) {
	if cfg.cluster == "" {
		store, err := boltstore.Open(cfg.dataDir)
		if err != nil {
			return nil, fmt.Errorf("data dir %s: %w", cfg.dataDir, err)
		}
		warnEmptyRegistry(store, log)
		return &backend{Store: store}, nil
	}
	// Reconnect forever: a NATS server restarting must not stop a node
	// that serves clients; writes wait in the registry's dirty set.
	nc, err := nats.Connect(cfg.cluster, nats.Name("cliser-"+cfg.nodeID),
		nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("cluster: NATS connection lost; reconnecting", zap.Error(err))
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("cluster: NATS reconnected", zap.String("url", c.ConnectedUrlRedacted()))
		}))
	if err != nil {
		return nil, fmt.Errorf("--cluster %s: %w", cfg.cluster, err)
	}
	node, err := cluster.Join(nc, cfg.nodeID, append([]cluster.Option{cluster.WithRetention(cfg.retention),
		cluster.WithReplicas(cfg.clusterReplicas), cluster.WithHeartbeatTTL(cfg.clusterHeartbeat),
		cluster.WithLogger(log)}, extra...)...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("--cluster %s: %w", cfg.cluster, err)
	}
	log.Info("cluster: joined", zap.String("node_id", cfg.nodeID), zap.String("nats", nc.ConnectedUrlRedacted()))
	return &backend{Store: node.Store(), node: node, nc: nc}, nil
}

// Close releases the store, and in cluster mode leaves the cluster (the
// heartbeat goes at once) and drains the NATS connection.
func (b *backend) Close() error {
	err := b.Store.Close()
	if b.node != nil {
		err = errors.Join(err, b.node.Close(), b.nc.Drain())
	}
	return err
}

// defaultNodeID is the host name (a pod's name on Kubernetes), or "" when
// it can not be read.
func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(h)
}
