// Package registry owns cliser's client records: the design note's
// {sid, cid, cip, cport, cstatus} plus times and the reason the last
// connection ended. It is the single writer of records and of the sid
// allocator. Event loops call it to register and drop connections, the admin
// API reads it, and a Store keeps it across restarts, written behind the hot
// path.
//
// Every method of Registry is safe to call from any goroutine. Its critical
// sections are short and never do I/O; the store is written by Run's flusher
// outside the lock.
package registry

import (
	"time"

	"github.com/cliser/cliser/protocol"
)

// Record is one client as operators see it. Records are values: what a
// method returns is a copy.
type Record struct {
	SID            uint16          // 1..65535 while connected; the last one after
	CID            string          // the client's ID, the record's key
	CIP            string          // the peer's IP, from the TCP connection (or PROXY header)
	CPort          string          // the peer's port, as a string like the design note's
	CStatus        bool            // true while connected
	ConnectedAt    time.Time       // when the current or last connection registered
	LastSeen       time.Time       // the last sign of life: registration or keep-alive echo
	DisconnectedAt time.Time       // zero while connected
	Reason         protocol.Reason // why the last connection ended; ReasonNone while connected
	Node           string          // the node that holds or last held it (cluster mode)
	Session        string          // names the current or last registered connection (EVENTS.md)
}

// Conn is the registry's handle on a live connection, given by whoever
// serves it (the reactor). Its methods are safe to call from any goroutine:
// they queue the command onto the connection's event loop and return at
// once. A command that reaches a connection already gone does nothing.
type Conn interface {
	// Shutdown sends "130 shutdown[ <text>]" and closes after "130 ok".
	Shutdown(text string) error
	// Close sends "190 <reason>" and closes.
	Close(reason protocol.Reason) error
}
