package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// An IPv6 client's address is bracketed, as clients list writes it:
// addr=::1:47734 did not say where the address ends (docs audit).
func TestEventsTailBracketsIPv6Addresses(t *testing.T) {
	for cip, want := range map[string]string{"::1": "addr=[::1]:47734", "10.0.0.7": "addr=10.0.0.7:47734"} {
		var out bytes.Buffer
		ev := events.Event{Seq: 1, Time: time.Now(), Type: events.TypeConnected, CID: "v6", CIP: cip, CPort: "47734"}
		require.NoError(t, printEvent(&out, ev, false))
		assert.Contains(t, out.String(), want)
	}
}
