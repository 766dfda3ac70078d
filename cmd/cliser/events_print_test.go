package main

import (
	"bytes"
	"net"
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

// A wait is told in whole seconds rounded up: rounded down, a lockout's
// last 900 ms read "trying again in 0s" (mutation audit).
func TestEventsTailRoundsAWaitUp(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{time.Nanosecond: time.Second, 900 * time.Millisecond: time.Second,
		2 * time.Second: 2 * time.Second, 2500 * time.Millisecond: 3 * time.Second} {
		assert.Equal(t, want, roundUp(d), "%v", d)
	}
}

// A tail from a seq (--after) whose address never answers says so and
// exits 1, as one without --after does: it reconnected for ever, saying
// "stream dropped" of a stream that was never up (CLI audit).
func TestEventsTailFromASeqSaysAWrongAddress(t *testing.T) {
	cliEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, args := range [][]string{{}, {"--after", "0"}, {"--after", "7", "--type", "client.connected"}} {
		start := time.Now()
		_, stderr, err := runCLI(t, append([]string{"events", "tail", "--admin", dead}, args...)...)
		require.Error(t, err, "%v: the tail ended without a word (stderr: %s)", args, stderr)
		assert.Contains(t, err.Error(), "is `cliser serve` running? check --admin/CLISER_ADMIN", args)
		assert.Equal(t, 1, exitCode(err), args)
		assert.NotContains(t, stderr, "stream dropped", args)
		assert.Less(t, time.Since(start), 10*time.Second, "%v: it retried before saying so", args)
	}
}

// The events help says what tail prints for each -o: its "table or json"
// was the clients' words, and tail prints lines, not a table (CLI audit).
func TestEventsHelpSaysTailPrintsLines(t *testing.T) {
	for _, args := range [][]string{{"events", "--help"}, {"events", "tail", "--help"}} {
		out, _, err := runCLI(t, args...)
		require.NoError(t, err)
		assert.Contains(t, out, "table: one line per event; json: each event's JSON on a line of its own", args)
		assert.NotContains(t, out, "table or json", args)
	}
	out, _, err := runCLI(t, "clients", "--help")
	require.NoError(t, err)
	assert.Contains(t, out, "table or json", "the clients' tables keep their words")
}
