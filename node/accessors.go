package node

import (
	"github.com/nats-io/nats.go"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/cluster"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/reactor"
	"github.com/cliser/cliser/registry"
	"github.com/cliser/cliser/webhook"
)

// The accessors hand tests and `cliser serve` the parts of a started node.
// Each is safe from any goroutine once Start has returned nil.

// Exited is closed once the protocol engine has stopped; closed before
// Shutdown, it means the engine died under the node (gnet logged why) and
// the process should exit so that a supervisor restarts it. Safe from any
// goroutine after Start.
func (n *Node) Exited() <-chan struct{} { return n.srv.Exited() }

// Addr is the protocol's address, with the real port. Safe after Start.
func (n *Node) Addr() string { return n.srv.Addr() }

// AdminAddr is the admin API's address with the real port, or "off".
// Safe after Start.
func (n *Node) AdminAddr() string {
	if n.adminSrv == nil {
		return "off"
	}
	return n.adminSrv.Addr()
}

// SetPasswords swaps the accepted passwords (SIGHUP); registered clients
// stay. Safe from any goroutine after Start.
func (n *Node) SetPasswords(pw [][]byte) error { return n.srv.SetPasswords(pw) }

// Webhook is the webhook's deliverer, nil without a webhook URL. Set by
// Start; its SetSigner (SIGHUP) is safe from any goroutine.
func (n *Node) Webhook() *webhook.Deliverer {
	if n.hook == nil {
		return nil
	}
	return n.hook.d
}

// Registry is the node's registry (goroutine-safe itself).
func (n *Node) Registry() *registry.Registry { return n.reg }

// Reactor is the node's protocol engine (goroutine-safe itself).
func (n *Node) Reactor() *reactor.Server { return n.srv }

// Metrics is the node's Prometheus instrumentation.
func (n *Node) Metrics() *admin.Metrics { return n.metrics }

// API is the admin API, nil when the admin listener is off.
func (n *Node) API() *admin.API { return n.api }

// Identity is the node's identity service.
func (n *Node) Identity() *identity.Service { return n.ids.Service }

// Cluster is the node's cluster membership, nil on a single node.
func (n *Node) Cluster() *cluster.Node { return n.store.node }

// NATS is the node's NATS connection, nil on a single node.
func (n *Node) NATS() *nats.Conn { return n.store.nc }
