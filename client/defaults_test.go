package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
