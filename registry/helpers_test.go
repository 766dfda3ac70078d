package registry_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// testConn is a real, tiny registry.Conn: a handle that remembers what was
// asked of it. The registry never calls it (it only hands it back), so it
// stands for the reactor's handle without pretending to be a network.
type testConn struct {
	id int64

	mu        sync.Mutex
	shutdowns []string
	closes    []protocol.Reason
}

var connIDs atomic.Int64

// testCIP is the address of the tests' clients, shared by pointer as the
// reactor shares one string per address.
var testCIP = "192.0.2.1"

func newConn() *testConn { return &testConn{id: connIDs.Add(1)} }

func (c *testConn) Shutdown(text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.shutdowns = append(c.shutdowns, text)
	return nil
}

func (c *testConn) Close(reason protocol.Reason) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes = append(c.closes, reason)
	return nil
}

func (c *testConn) closed() []protocol.Reason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Reason(nil), c.closes...)
}

func (c *testConn) String() string { return fmt.Sprintf("conn#%d", c.id) }

// fakeClock is a clock tests move by hand, for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// mustRegister registers cid with a new conn and fails the test on error
// or on an unexpected takeover.
func mustRegister(t testing.TB, r *registry.Registry, cid string) (uint16, *testConn) {
	t.Helper()
	c := newConn()
	sid, replaced, err := r.Register(cid, "192.0.2.1", "4000", c)
	require.NoError(t, err, cid)
	require.Nil(t, replaced, cid)
	return sid, c
}

// all walks every page of a listing and returns the records.
func all(t testing.TB, r *registry.Registry, s registry.Status) []registry.Record {
	t.Helper()
	var out []registry.Record
	q := registry.Query{Status: s, Limit: registry.MaxPageLimit}
	for {
		p := r.List(q)
		out = append(out, p.Records...)
		if p.Next == "" {
			return out
		}
		q.After = p.Next
	}
}

func cidN(i int) string { return fmt.Sprintf("c%05d", i) }
