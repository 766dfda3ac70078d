// Package webhook delivers the fleet's event log (package events) to an
// HTTP endpoint, signed as the Standard Webhooks specification says
// (EVENTS.md "Webhooks", docs/events.md).
//
// A Deliverer runs on a goroutine of its own and only reads the log: a slow
// or dead receiver never slows the protocol. It sends batches of events in
// log order, one request in flight at a time, retries each until a 2xx
// (exponential backoff jittered above its base, not from 0: retry.go;
// Retry-After honoured) or a 410 that turns delivery off, and stores
// how far the receiver has acknowledged in a Cursor so that delivery
// resumes there after a restart. In a cluster every node runs a Deliverer,
// but only the holder of a Lease delivers; when it dies another node takes
// the lease and resumes from the shared cursor.
package webhook
