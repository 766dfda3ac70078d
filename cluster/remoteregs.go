package cluster

import "time"

// SetRemoteRegistrations has f told of every registration another node
// admits, as its record reaches this node's index (cid and its
// connected_at): identity's flapping counts them, so that a client ID
// bouncing between nodes meets --flap-limit as on one node. A node's
// flush carries its clients' latest state, so registrations of one ID on
// one node within a flush interval (50 ms) count once; a registration
// already gone when its record is written (disconnected) counts too. f runs on the
// watch's goroutine, under the index's lock (before the registration
// shows in this node's list), and must not wait or call the Node. Safe
// to call from any goroutine.
func (n *Node) SetRemoteRegistrations(f func(cid string, at time.Time)) {
	n.remoteRegistrations.Store(&f)
}
