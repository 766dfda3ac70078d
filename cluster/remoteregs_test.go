package cluster

import (
	"testing"
	"time"

	"github.com/cliser/cliser/registry"
)

// Another node's registration is counted (flapping) before this node's
// index shows it: counted after, a registration seen in the list could be
// followed by one here that was counted first, and the limit-th went
// unbanned (TestFlappingCountsTheClustersRegistrations, under load).
func TestRemoteRegistrationsAreCountedBeforeTheIndexShowsThem(t *testing.T) {
	n := &Node{id: "cliser-0", names: []string{"", "cliser-0"}, nodeNums: map[string]uint16{"cliser-0": 1}, self: 1,
		connectedBy: map[string]int{}, published: map[string]published{}}
	n.index = newIndex()
	counted, open := 0, false
	n.SetRemoteRegistrations(func(string, time.Time) {
		counted++
		if n.mu.TryLock() { // the index open to a list while the count has not run
			open = true
			n.mu.Unlock()
		}
	})
	v := slotValue{Records: []slotRecord{{Rec: registry.Record{CID: "flap-dev", CStatus: true, ConnectedAt: time.Now()}}}}
	n.applySlot("cliser-1", 3, &change{key: slotKey("cliser-1", 3), rev: 7}, v)
	if counted != 1 {
		t.Fatalf("counted %d registrations, want 1", counted)
	}
	if open {
		t.Fatal("the index showed the registration before it was counted")
	}
}
