package node_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/webhook"
)

// BenchmarkHandshake drives real handshakes through a whole node as
// `cliser serve` runs it (bbolt store and its write-behind, metrics, the
// per-IP guard, a warn-level logger, GOGC=50): connect, read the prompt,
// send "110" and "120" pipelined, read "120 id" and "140 connected", and
// close. The clients are raw sockets with fixed buffers, so allocs/op is
// the server's (gnet, the reactor, the registry, the flusher's share),
// whatever the machine's load. Client ids cycle over a fleet of
// benchFleet, so most handshakes are reconnects, as in the harness's
// bursts, and the store stops growing. The client's reset (no TIME_WAIT
// to run out of ports) costs the server one error value per handshake.
func BenchmarkHandshake(b *testing.B) {
	runHandshakes(b, b.TempDir(), sharedAnswers())
}

// sharedAnswers are the fleet's answers with the shared password.
func sharedAnswers() [][]byte {
	ids := make([][]byte, benchFleet)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "110 %s\n120 bench-%05d\n", nodetest.Password, i)
	}
	return ids
}

// BenchmarkHandshakeCredentials is BenchmarkHandshake with a credential
// for every client ID of the fleet, each client answering its own secret:
// the deferred check (IDENTITY.md) against benchFleet credentials. Its
// allocs/op beside BenchmarkHandshake's is what a credential costs a
// handshake in garbage, whatever the machine's load.
func BenchmarkHandshakeCredentials(b *testing.B) {
	dir, ids := seedBenchCredentials(b)
	runHandshakes(b, dir, ids)
}

// BenchmarkHandshakeEvents is BenchmarkHandshake with the event log at its
// default retention and a webhook to a receiver on 127.0.0.1, as the floor
// bench's cliser+events runs: its allocs/op and B/op beside
// BenchmarkHandshake's are what the log and its delivery cost a handshake
// in garbage (issue 17), each handshake's connect and disconnect events
// included (the writer's and the deliverer's share).
func BenchmarkHandshakeEvents(b *testing.B) {
	runHandshakes(b, b.TempDir(), sharedAnswers(), eventsOn(b, new(atomic.Int64))...)
}

// BenchmarkHandshakeCredentialsEvents is both: cliser+identity+events.
func BenchmarkHandshakeCredentialsEvents(b *testing.B) {
	dir, ids := seedBenchCredentials(b)
	runHandshakes(b, dir, ids, eventsOn(b, new(atomic.Int64))...)
}

// seedBenchCredentials enrolls a credential for every client ID of the
// fleet in a new data dir and returns it with each client's answers.
func seedBenchCredentials(b *testing.B) (string, [][]byte) {
	dir := b.TempDir()
	st, err := boltstore.Open(dir)
	require.NoError(b, err)
	now := time.Now().UTC()
	cs := make([]identity.Credential, benchFleet)
	ids := make([][]byte, benchFleet)
	for i := range cs {
		cid, secret := fmt.Sprintf("bench-%05d", i), fmt.Sprintf("secret-of-%05d", i)
		cs[i] = identity.Credential{CID: cid, Digest: identity.Digest([]byte(secret)), CreatedAt: now}
		ids[i] = fmt.Appendf(nil, "110 %s\n120 %s\n", secret, cid)
	}
	require.NoError(b, st.PutCredentials(context.Background(), cs))
	require.NoError(b, st.Close())
	return dir, ids
}

// eventsOn is the event log and a webhook, with serve's batch and linger, to
// a receiver that answers 204 and counts its requests in requests.
func eventsOn(tb testing.TB, requests *atomic.Int64) []node.Option {
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(recv.Close)
	signer, err := webhook.ParseSecrets("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(tb, err)
	return []node.Option{node.WithEventRetention(events.DefaultRetention),
		node.WithWebhook(node.Webhook{URL: recv.URL + "/hook", Signer: signer,
			Batch: webhook.DefaultBatch, Linger: webhook.DefaultLinger})} // serve's defaults
}

// runHandshakes starts a node on dataDir as serve runs and times b.N
// handshakes against it, cycling over answers.
func runHandshakes(b *testing.B, dataDir string, ids [][]byte, opts ...node.Option) {
	defer debug.SetGCPercent(debug.SetGCPercent(50)) // serveGCPercent
	n := nodetest.Start(b, append([]node.Option{node.WithDataDir(dataDir), node.WithLogger(warnLogger())}, opts...)...)
	sa := sockaddr(b, n.Addr())
	var (
		c    rawConn
		next int
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.handshake(b, sa, ids[next])
		next = (next + 1) % len(ids)
	}
	// The flusher's work for these handshakes belongs to them.
	require.NoError(b, n.Registry().Flush())
}

const benchFleet = 5000

// warnLogger logs as `cliser serve` in production: warn and above, JSON.
func warnLogger() *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.WarnLevel))
}

// rawConn is a blocking client socket, one handshake at a time, that
// allocates nothing per use.
type rawConn struct {
	fd  int
	got int // bytes of buf the last readLines filled
	buf [256]byte
}

// sockaddr is addr for syscall.Connect; made once, so that Connect does
// not allocate one per handshake.
func sockaddr(b *testing.B, addr string) *syscall.SockaddrInet4 {
	ap, err := netip.ParseAddrPort(addr)
	require.NoError(b, err)
	return &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// handshake runs one whole handshake as a fresh client sending answer and
// closes with a reset (no TIME_WAIT left to run out of ports).
func (c *rawConn) handshake(b *testing.B, sa *syscall.SockaddrInet4, answer []byte) {
	if err := c.dial(sa); err != nil {
		b.Fatal(err)
	}
	defer c.close()
	if err := c.readLines(1); err != nil {
		b.Fatal("prompt: ", err)
	}
	if _, err := syscall.Write(c.fd, answer); err != nil {
		b.Fatal(err)
	}
	if err := c.readLines(2); err != nil {
		b.Fatal("120/140: ", err)
	}
	if !bytes.Contains(c.buf[:c.got], []byte("140 connected ")) {
		b.Fatalf("no 140: %q", c.buf[:c.got])
	}
}

func (c *rawConn) dial(sa *syscall.SockaddrInet4) error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	c.fd = fd
	if err := syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1}); err != nil {
		return err
	}
	return syscall.Connect(fd, sa)
}

// readLines reads until n lines have come.
func (c *rawConn) readLines(n int) error {
	c.got = 0
	for lines := 0; lines < n; {
		m, err := syscall.Read(c.fd, c.buf[c.got:])
		if err != nil {
			return err
		}
		if m == 0 {
			return fmt.Errorf("closed after %q", c.buf[:c.got])
		}
		lines += bytes.Count(c.buf[c.got:c.got+m], []byte("\n"))
		c.got += m
	}
	return nil
}

func (c *rawConn) close() { _ = syscall.Close(c.fd) }
