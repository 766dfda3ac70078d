package cluster

import "errors"

// Sentinel errors of the cluster package.
var (
	// ErrNoNodeID: Join was given an empty node id.
	ErrNoNodeID = errors.New("cluster: a node needs an id")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("cluster: node already started")
	// ErrNodeIDInUse: another live node renews a heartbeat under this id.
	ErrNodeIDInUse = errors.New("cluster: another live node has this node id; give each node its own --node-id")
	// ErrOldLayout: the clients bucket holds records keyed by client id,
	// as builds before the slots wrote them.
	ErrOldLayout = errors.New("cluster: the clients bucket holds records of the per-client layout of an earlier cliser build, " +
		"which this build does not read; stop every node, remove the bucket (nats kv rm <bucket>) and start the nodes " +
		"again (their clients register again on their own), or give this cluster another bucket")
	// ErrNATSDown: the node's NATS connection is not up; the flush is kept
	// for the next one.
	ErrNATSDown = errors.New("cluster: NATS connection is not up")
)
