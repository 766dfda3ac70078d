// Package admin is cliser's operator surface: the admin HTTP API over the
// registry, Prometheus metrics, and the health and readiness probes.
//
// Shape (after nats-server's monitor): every endpoint is a plain Go method
// on API (ListClients, GetClient, ShutdownClient, KickClient, ShutdownAll)
// that tests and other packages can call directly, plus a thin http handler
// that parses the request, calls the method and writes JSON. The handlers
// never touch a connection: commands go through registry.Conn, which queues
// them onto the connection's event loop, so the API answers 202 as soon as
// a command is queued.
//
// Who owns what: the registry owns the records, the reactor owns the
// connections, this package only reads the one and queues commands to the
// other. Metrics implements reactor.Observer and is called on event loops,
// so it only touches atomic counters.
package admin
