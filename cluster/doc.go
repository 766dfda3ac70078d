// Package cluster makes several cliser nodes act as one service on NATS
// JetStream, not on a protocol of our own between nodes.
//
//   - Records live in a JetStream key-value bucket keyed by client ID
//     (bucket "cliser_clients"), written behind the hot path: the node's
//     Store is the registry's registry.Store, so a handshake never waits on
//     NATS; the registry's flusher writes its dirty set every flush interval.
//   - Every node mirrors the bucket in memory from a watch, and answers
//     GET /v1/clients from the mirror (cid order, the same cursor) and GET
//     /v1/clients/{cid} from the bucket.
//   - Commands reach the node that holds the client by NATS request/reply
//     on cliser.node.<node>.cmd; POST /v1/shutdown asks every live node and
//     sums what they sent.
//   - Takeover across nodes: a registration is published with a key-value
//     write; the write with the highest revision wins. A node whose live
//     session was published at revision p and that sees another node's
//     registration at revision q > p closes its session with 190 replaced.
//   - Node loss: each node puts a heartbeat key in a bucket whose keys age
//     out (bucket "cliser_nodes", TTL). Every node checks the live nodes
//     now and then and marks the connected records of nodes that have no
//     heartbeat cstatus=false, reason "node lost", with a compare-and-set
//     on the record's revision, so two survivors never fight over one.
//
// Every exported method of Node is safe to call from any goroutine.
package cluster
