// Package identity keeps fleet identity: credentials that bind a secret to
// one client ID, bans of client IDs, IP addresses and networks, and flapping
// control (docs/identity.md, the contract in IDENTITY.md).
//
// Credentials and bans live in memory and are answered from there, so the
// event loop never waits on more than a map lookup and a SHA-256. Writes go
// behind through a Store: bbolt in the data dir on a single node, JetStream
// key-value buckets in cluster mode (package cluster), whose Watch keeps
// every node's memory in step.
//
// Only SHA-256 digests of secrets are kept; secrets are shown once, when
// they are created.
package identity
