// Package cluster makes several cliser nodes act as one service on NATS
// JetStream, not on a protocol of our own between nodes.
//
//   - Records live in a JetStream key-value bucket (bucket
//     "cliser_clients") by node and slot: a slot is 64 of a node's sids,
//     keyed "<node>.<slot>", its value every record of that node whose
//     last sid falls in it (slot.go, a versioned binary encoding). The
//     node's Store is the registry's registry.Store, so a handshake never
//     waits on NATS; the registry's flusher hands its dirty set over every
//     flush interval, and each changed slot is written once (slotstore.go
//     takes the changes, slotwrite.go writes them), with a compare-and-set
//     over the node's last write.
//   - Every node indexes the bucket from a watch (cid, registration
//     revision, slot, holder, connected), answers GET /v1/clients from
//     the index in cid order (the same cursor) with the page's records
//     read from their slots, and GET /v1/clients/{cid} from its slot.
//   - Commands reach the node that holds the client by NATS request/reply
//     on cliser.node.<node>.cmd; POST /v1/shutdown asks every live node and
//     sums what they sent.
//   - Takeover across nodes: each record in a slot carries the revision
//     of the write that registered its session; every node applies, in
//     stream order, one rule: for a cid the highest registration revision
//     wins, and any other write of it counts only from its holder. A node
//     whose live session registered at p and that sees another node's
//     registration at q > p closes it with 190 replaced.
//   - Node loss: each node puts a heartbeat key in a bucket whose keys age
//     out (bucket "cliser_nodes", TTL). Every node checks the live nodes
//     now and then and marks the connected records of nodes that have no
//     heartbeat cstatus=false, reason "node lost", by rewriting the lost
//     node's slots with a compare-and-set on the revision read, so two
//     survivors never both win.
//
// Every exported method of Node is safe to call from any goroutine.
package cluster
