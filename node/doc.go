// Package node assembles one whole cliser node and owns its lifecycle.
//
// A node is the registry and its store (bbolt, or NATS JetStream in a
// cluster), identity, the event log and its webhook, the protocol engine
// (reactor), the admin API and the dashboard. They must start in one order
// and stop in another, and before this package that order lived in
// `cliser serve` and was copied into every test that needed a whole
// server. Here it is written once, as nats-server's Server owns its own:
// `cliser serve` turns flags into Options and runs a Node; tests build the
// same Node on 127.0.0.1:0.
//
// The package also closes the import graph: it is the one place (with
// cmd/cliser) that sees the reactor and the admin API together, so the
// arrows run cmd → node → admin/cluster → registry → protocol.
package node
