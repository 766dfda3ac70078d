package registry

// Node is the node name given by WithNode ("" on a single node). Safe from
// any goroutine.
func (r *Registry) Node() string { return r.opts.node }
