package admin

import (
	"errors"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// Directory is where the API reads records and sends its commands. The
// default is this node's registry (localDirectory); in cluster mode serve
// plugs in the cluster's view (cluster.Directory), so that any node answers
// for every node. Implementations must be safe from any goroutine.
//
// Errors: registry.ErrNotFound (no such record), registry.ErrNotConnected
// (a command to a client that is not connected), ErrDraining (the node that
// holds the client does not take commands now), ErrUnavailable (the node
// that holds it can not be reached). Anything else is a 500.
type Directory interface {
	// List returns one page of records in cid order (registry.Query's cursor).
	List(q registry.Query) (registry.Page, error)
	// Get returns cid's record.
	Get(cid string) (registry.Record, error)
	// Shutdown queues "130 shutdown[ <text>]" on cid's connection.
	Shutdown(cid, text string) error
	// Kick queues "190 kicked" and the close on cid's connection.
	Kick(cid string) error
	// ShutdownAll queues 130 on every connected client and says on how many.
	ShutdownAll(text string) (int, error)
}

// errNotQueued: the connection's event loop refused the command, which
// happens only while the server stops; the API answers 503.
var errNotQueued = errors.New("command not queued")

// localDirectory is the Directory of a single node: its own registry.
type localDirectory struct {
	reg       *registry.Registry
	broadcast func(text string) int // nil: one command per registry.Conn
}

// NewLocalDirectory is the Directory over one node's registry; broadcast,
// when not nil, is how ShutdownAll reaches every client (the reactor's
// per-loop ShutdownAll). The cluster uses it to run commands that reach
// this node.
func NewLocalDirectory(reg *registry.Registry, broadcast func(text string) int) Directory {
	return &localDirectory{reg: reg, broadcast: broadcast}
}

func (d *localDirectory) List(q registry.Query) (registry.Page, error) { return d.reg.List(q), nil }

func (d *localDirectory) Get(cid string) (registry.Record, error) {
	rec, ok := d.reg.Get(cid)
	if !ok {
		return registry.Record{}, registry.ErrNotFound
	}
	return rec, nil
}

func (d *localDirectory) Shutdown(cid, text string) error {
	conn, err := d.reg.Conn(cid)
	if err != nil {
		return err
	}
	if err := conn.Shutdown(text); err != nil {
		return errors.Join(errNotQueued, err)
	}
	return nil
}

func (d *localDirectory) Kick(cid string) error {
	conn, err := d.reg.Conn(cid)
	if err != nil {
		return err
	}
	if err := conn.Close(protocol.ReasonKicked); err != nil {
		return errors.Join(errNotQueued, err)
	}
	return nil
}

func (d *localDirectory) ShutdownAll(text string) (int, error) {
	if d.broadcast != nil {
		return d.broadcast(text), nil
	}
	sent := 0
	for _, conn := range d.reg.Conns() {
		if conn.Shutdown(text) == nil {
			sent++
		}
	}
	return sent, nil
}
