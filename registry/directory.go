package registry

import (
	"errors"

	"github.com/cliser/cliser/protocol"
)

// Directory is where readers of records (the admin API) read them and send
// their commands. It lives here, with the records, so that the cluster and
// the HTTP side both depend on it and neither on the other. The default is
// one node's registry (NewLocalDirectory); in cluster mode the node plugs
// in the cluster's view (cluster.Node.Directory), so that any node answers
// for every node. Implementations must be safe from any goroutine.
//
// Errors: ErrNotFound (no such record), ErrNotConnected (a command to a
// client that is not connected), ErrNotQueued (this node's event loop
// refused the command), ErrDraining (the node that holds the client does
// not take commands now), ErrUnavailable (the node that holds it can not be
// reached). Anything else is the implementation's fault.
type Directory interface {
	// List returns one page of records in cid order (Query's cursor).
	List(q Query) (Page, error)
	// Get returns cid's record.
	Get(cid string) (Record, error)
	// Shutdown queues "130 shutdown[ <text>]" on cid's connection.
	Shutdown(cid, text string) error
	// Kick queues "190 kicked" and the close on cid's connection.
	Kick(cid string) error
	// ShutdownAll queues 130 on every connected client and says on how
	// many; an *UnconfirmedError beside the count names the nodes that did
	// not confirm theirs (cluster mode).
	ShutdownAll(text string) (int, error)
}

// Staler is implemented by a Directory whose reads may, for a while, come
// from a copy that lags (the cluster's, while NATS does not answer). Stale
// must be cheap and safe from any goroutine.
type Staler interface {
	Stale() bool
}

// localDirectory is the Directory of a single node: its own registry.
type localDirectory struct {
	reg       *Registry
	broadcast func(text string) int // nil: one command per Conn (a node without a reactor: tests)
}

// NewLocalDirectory is the Directory over one node's registry; broadcast,
// when not nil, is how ShutdownAll reaches every client (the reactor's
// per-loop ShutdownAll). The cluster uses it to run the commands that reach
// this node. Safe from any goroutine.
func NewLocalDirectory(reg *Registry, broadcast func(text string) int) Directory {
	return &localDirectory{reg: reg, broadcast: broadcast}
}

func (d *localDirectory) List(q Query) (Page, error) { return d.reg.List(q), nil }

func (d *localDirectory) Get(cid string) (Record, error) {
	rec, ok := d.reg.Get(cid)
	if !ok {
		return Record{}, ErrNotFound
	}
	return rec, nil
}

func (d *localDirectory) Shutdown(cid, text string) error {
	conn, err := d.reg.Conn(cid)
	if err != nil {
		return err
	}
	if err := conn.Shutdown(text); err != nil {
		return errors.Join(ErrNotQueued, err)
	}
	return nil
}

func (d *localDirectory) Kick(cid string) error {
	conn, err := d.reg.Conn(cid)
	if err != nil {
		return err
	}
	if err := conn.Close(protocol.ReasonKicked); err != nil {
		return errors.Join(ErrNotQueued, err)
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
