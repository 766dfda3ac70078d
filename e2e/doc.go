// Package e2e holds cliser's cross-cutting integration tests: a real
// server (in-process, or the built binary) on 127.0.0.1 against hostile
// input, faults (a stuck admin client, SIGKILL under load) and TLS
// terminated by HAProxy in front. It has no code of its own; everything is
// in its _test.go files, and each test says what it proves.
//
// The tests dial from many source addresses in 127.0.0.0/8 (to stay under
// the per-IP limits), which Linux routes to loopback as it is. The
// HAProxy test needs `haproxy` on PATH and skips, saying so, without it.
package e2e
