// Package events is the fleet's event log (docs/events.md, EVENTS.md):
// what happened to clients (connected, disconnected with a reason, shutdown
// sent and acknowledged) and to credentials and bans, each event with a seq
// that only grows and a session that tells a stale disconnect from a current
// one.
//
// Events are appended behind the hot path: producers hand an Event to a
// bounded queue and never wait on the disk or NATS. Readers (the JSON API,
// SSE, per-client history, webhook delivery, the dashboard) use Reader.
//
// The package imports only internal/* and libraries; package node wires
// the registry's and the cluster's changes in (node/events.go).
package events
