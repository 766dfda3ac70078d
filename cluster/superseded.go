package cluster

// Superseded sessions. A client that registers on node B while node A
// still holds its session has two records: A's, connected, and B's newer
// one, which the index keeps. A closes its session when it sees B's
// registration and writes that ("replaced", its event). A node that dies
// first never does, and its record is not the index's, so the lost-node
// check would not find it: the session would stay open in the log and in
// the client's history for good (EVENTS.md gives every registered
// connection that ended a client.disconnected, a lost node's "node lost"
// once for the cluster). So every node counts, per slot of the others,
// such connected records whose client has registered since on another
// node (indexSlotLocked counts a slot's again at each of its writes), and
// the check marks those slots of lost nodes too, with the event.

// supersedeLocked notes that old, a connected record the index held, lost
// to ne, a newer registration on another node: one more in old's slot.
// n.mu must be held.
func (n *Node) supersedeLocked(old, ne entry) {
	if old.connected() && old.node() != ne.node() && ne.rev() > old.rev() && old.node() != noNode {
		ref := slotRef{node: n.holderLocked(old), slot: old.slot()}
		n.setSupersededLocked(ref, n.superseded[ref]+1)
	}
}

func (n *Node) setSupersededLocked(ref slotRef, k int) {
	if k > 0 {
		n.superseded[ref] = k
	} else {
		delete(n.superseded, ref)
	}
}

// supersededSlotsLocked adds to out the slots pick selects that hold
// superseded connected records, unless seen. n.mu must be held.
func (n *Node) supersededSlotsLocked(pick func(node string) bool, seen map[slotRef]bool, out []slotRef) []slotRef {
	for ref := range n.superseded {
		if !seen[ref] && pick(ref.node) {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	return out
}
