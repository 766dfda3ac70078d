package cluster

import (
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// publishWindow bounds the slot writes of one flush in flight at once: enough
// to keep the NATS server busy over loopback or a LAN, few enough that a
// flush of a mass reconnect does not queue tens of thousands of
// acknowledgements behind each other.
const publishWindow = 512

// publisher writes a flush's slots to the bucket's stream with
// asynchronous publishes: one round trip for a window of slots, not one
// per slot. Each publish carries the compare-and-set a key-value Update
// or Create would (the expected last sequence of the key's subject).
type publisher struct {
	once   sync.Once
	js     jetstream.JetStream
	err    error
	prefix string // "$KV.<bucket>."
}

// publisherOf makes the node's publishing JetStream context once.
func (n *Node) publisherOf() (*publisher, error) {
	p := &n.pub
	p.once.Do(func() {
		p.prefix = "$KV." + n.opts.clientsBucket + "."
		p.js, p.err = jetstream.New(n.nc,
			jetstream.WithPublishAsyncMaxPending(publishWindow),
			jetstream.WithPublishAsyncTimeout(n.opts.opTimeout))
	})
	return p, p.err
}
