package testkit

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS starts a real nats-server with JetStream on 127.0.0.1 and a free
// port, its store in a temporary directory, shut down when t ends.
func NATS(t testing.TB) *server.Server {
	t.Helper()
	return NATSAt(t, t.TempDir(), -1)
}

// NATSAt is NATS with its store in dir, on port (-1: a free one): calling
// it again with the same dir and port after a Shutdown is a NATS outage
// that ends. t's cleanup shuts it down if the test has not.
func NATSAt(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: dir, NoLog: true, NoSigs: true}, 10*time.Second)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// NATSAuth is NATSAt with a fresh store, taking only clients that give
// user and password.
func NATSAuth(t testing.TB, port int, user, password string) *server.Server {
	t.Helper()
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(),
		Username: user, Password: password, NoLog: true, NoSigs: true}, 10*time.Second)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// startNATS starts a nats-server with o and waits until it takes
// connections, at most up; the caller owns its shutdown.
func startNATS(t testing.TB, o *server.Options, up time.Duration) *server.Server {
	t.Helper()
	ns, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("nats-server %s: %v", o.ServerName, err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(up) {
		ns.Shutdown()
		t.Fatalf("nats-server %s did not start within %s", o.ServerName, up)
	}
	return ns
}

// NATSWithoutJetStream starts a real nats-server as `nats-server` without
// -js runs: it takes clients, and has no JetStream. t's cleanup shuts it
// down.
func NATSWithoutJetStream(t testing.TB) *server.Server {
	t.Helper()
	ns := startNATS(t, &server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true}, 10*time.Second)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}
