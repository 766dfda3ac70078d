package testkit

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quietFor is how long a silent relay's peer is watched for anything
// arriving (bytes, FIN or RST): the bound the test claims, not a wait.
const quietFor = 300 * time.Millisecond

// A silent relay passes nothing either way, not even a close, while every
// socket stays open; healed, what is sent after flows again and what was
// dropped stays lost. Silent one way only, the other way still flows.
func TestRelaySilent(t *testing.T) {
	r, peer, target := relayPair(t)
	send(t, peer, "a")
	expectBytes(t, target, "a")
	send(t, target, "b")
	expectBytes(t, peer, "b")

	r.SetSilent(BothWays)
	send(t, peer, "x")
	send(t, target, "y")
	awaitDropped(t, r, 2)
	expectNothing(t, peer)
	expectNothing(t, target)

	r.SetSilent(0)
	send(t, peer, "z")
	expectBytes(t, target, "z") // "x" is gone for good
	send(t, target, "w")
	expectBytes(t, peer, "w")

	r.SetSilent(FromTarget)
	send(t, peer, "p")
	expectBytes(t, target, "p")
	send(t, target, "q")
	awaitDropped(t, r, 3)
	require.NoError(t, target.(*net.TCPConn).CloseWrite())
	expectNothing(t, peer) // neither "q" nor the FIN

	r.SetSilent(0)
	require.NoError(t, peer.SetReadDeadline(time.Now().Add(10*time.Second)))
	k, err := peer.Read(make([]byte, 8))
	assert.Zero(t, k)
	assert.ErrorIs(t, err, io.EOF, "the target's close reaches the peer once healed")
}

// relayPair is a relay and both ends of one connection through it.
func relayPair(t *testing.T) (r *Relay, peer, target net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	r = StartRelay(t, ln.Addr().String())
	peer, err = net.Dial("tcp", r.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = peer.Close() })
	target = Recv(t, accepted, 10*time.Second, "the relay did not dial the target")
	t.Cleanup(func() { _ = target.Close() })
	return r, peer, target
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	_, err := c.Write([]byte(s))
	require.NoError(t, err)
}

func expectBytes(t *testing.T, c net.Conn, want string) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	got := make([]byte, len(want))
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
}

// expectNothing: within quietFor, c reads no byte, no EOF and no reset.
func expectNothing(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(quietFor)))
	k, err := c.Read(make([]byte, 8))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "read %d bytes, %v: want nothing", k, err)
}

// awaitDropped waits until the relay has dropped n bytes.
func awaitDropped(t *testing.T, r *Relay, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return r.Dropped() == n }, 10*time.Second, 5*time.Millisecond,
		"the relay dropped %d bytes", n)
}
