package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDefaults: an unset or negative optional field gets its default, a
// set one is kept, and a backoff's Max is never below its Min.
func TestDefaults(t *testing.T) {
	c := Config{DialTimeout: -time.Second, WriteTimeout: 3 * time.Second}.withDefaults()
	assert.Equal(t, defaultDialTimeout, c.DialTimeout)
	assert.Equal(t, defaultHandshakeTimeout, c.HandshakeTimeout)
	assert.Equal(t, 3*time.Second, c.WriteTimeout)
	assert.Equal(t, defaultShutdownLinger, c.ShutdownLinger)
	assert.NotNil(t, c.Logger)

	b := Backoff{Min: 2 * time.Minute, Factor: 0.5}.withDefaults()
	assert.Equal(t, Backoff{Min: 2 * time.Minute, Max: 2 * time.Minute, Factor: defaultBackoffFactor, StableAfter: defaultStableAfter}, b)
	assert.Equal(t, Backoff{Min: defaultBackoffMin, Max: defaultBackoffMax, Factor: 3, StableAfter: time.Second},
		Backoff{Min: -1, Factor: 3, StableAfter: time.Second}.withDefaults())
	assert.Equal(t, 7, OrDefault(0, 7))
	assert.Equal(t, 1.5, OrDefault(1.5, 2))
}

// The defaults are the documented figures (Config's comments; docs/agent.md:
// the agent "waits for the server to close the connection (at most 5 s)"
// after its 130 ok), not only the constants' names: a mutation audit
// changed defaultShutdownLinger with every test passing.
func TestConfigDefaultsAreTheDocumentedFigures(t *testing.T) {
	c := Config{}.withDefaults()
	assert.Equal(t, 10*time.Second, c.DialTimeout)
	assert.Equal(t, 10*time.Second, c.HandshakeTimeout)
	assert.Equal(t, 10*time.Second, c.WriteTimeout)
	assert.Equal(t, 5*time.Second, c.ShutdownLinger)
	assert.Zero(t, c.IdleTimeout, "off for Go callers")
}

// A FleetConfig's DialTimeout of 0 is its documented default of 10s, not
// net.Dialer's "no timeout" (an Open without a context deadline, to a
// host that drops SYNs, would hang for the OS's minutes): a mutation
// audit let 0 through with every test passing. A negative one gets the
// default too.
func TestFleetDialTimeoutDefault(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		f, err := NewFleet(FleetConfig{Addr: "127.0.0.1:1", Password: realPassword, EventLoops: 1, DialTimeout: d})
		require.NoError(t, err)
		assert.Equal(t, 10*time.Second, f.dialer.Timeout, "DialTimeout %v", d)
		require.NoError(t, f.Close())
	}
}
