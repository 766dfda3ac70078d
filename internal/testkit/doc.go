// Package testkit holds the test helpers that several packages' tests
// need: the cliser binary built once per test process (Binary, removed
// when the tests end by the TestMain helper Main) and run as
// `cliser serve` (Serve), a buffer a running subprocess can write to while
// a test reads it (LockedBuffer), a throwaway TLS CA that issues server
// certificates (NewCA), a client that speaks the line protocol by hand
// (Dial, RawClient), the close line it expects (CloseLine), the
// pipelined handshake for many goroutines at once (PipelinedRegister),
// HAProxy run in front of a server (HAProxy), a real
// nats-server with JetStream for cluster tests (NATS), the bench module's
// cliser-bench and floor-server built once (BenchBinary, FloorBinary), a
// test's server stopped, or its run bounded, when it ends (StopAtEnd,
// Context), a command that must end by itself (Run, Environ) or keep
// running (Start, Process), the admin API over plain HTTP (HTTPDo,
// HTTPGet, Metric), a free loopback port (FreeAddr), a PROXY protocol
// header (ProxyHeader), a private network namespace whose loopback holds
// the addresses a test needs (InNetns) and the process's CPU time for
// benchmarks (CPUTime).
//
// It is a normal package (not a _test file) only because test files cannot
// export to other packages; it must be imported by _test.go files alone,
// never by production code. Each helper was written once per package
// before; keeping one copy here means a fix to, say, how the binary is
// built reaches every test that runs it.
//
// Helpers take a testing.TB and fail the test on error (PipelinedRegister,
// made for goroutines, returns its error instead); none of them sleeps a
// guessed time: they poll a condition under a deadline.
package testkit
