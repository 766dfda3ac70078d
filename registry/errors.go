package registry

import (
	"errors"
	"strings"
)

// Sentinel errors of the registry.
var (
	// ErrFull: no sid is free, or max clients are connected.
	ErrFull = errors.New("registry: server full")
	// ErrNotFound: no record with that client ID.
	ErrNotFound = errors.New("registry: no such client")
	// ErrNotConnected: the record exists but its client is not connected.
	ErrNotConnected = errors.New("registry: client not connected")
	// ErrNotQueued: the connection's event loop refused a command, which
	// happens only while the server stops (Directory).
	ErrNotQueued = errors.New("command not queued")
	// ErrDraining: the server is not accepting clients (starting or
	// draining), so commands to clients are refused (Directory).
	ErrDraining = errors.New("server is not accepting clients (starting or draining); try again later")
	// ErrUnavailable: the node that holds the client (cluster mode) could
	// not be reached in time; try again (Directory).
	ErrUnavailable = errors.New("the node that holds the client can not be reached; try again later")
)

// UnconfirmedError is a broadcast (Directory.ShutdownAll) that the nodes
// it names did not confirm in time: their clients may not have been told.
// The count beside it is the others'.
type UnconfirmedError struct{ Nodes []string }

func (e *UnconfirmedError) Error() string {
	return "not confirmed by node(s) " + strings.Join(e.Nodes, ", ") + ": their clients may not have been told; try again"
}
