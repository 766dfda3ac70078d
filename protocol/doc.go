// Package protocol is cliser's wire codec, version 1. It knows no sockets:
// it splits a byte stream into lines, parses and validates them, and
// encodes the lines either side sends. The server (reactor), the client
// package and the benchmark tools all speak the protocol through it, so each
// rule of the framing and of the fields lives here exactly once.
//
// Every function in this package is safe for concurrent use, and pure but
// for one: Reason.UnmarshalText remembers a reason it does not know, under
// a lock, so that it reads back the same (reason_future.go).
//
// The contract is docs/protocol.md; golden.go holds the byte vectors that
// both the codec tests and the server tests replay.
package protocol
