// Package e2e holds cliser's cross-cutting integration tests: a real
// server (in-process, or the built binary) on 127.0.0.1 against hostile
// input, faults (a stuck admin client, SIGKILL under load) and TLS
// terminated by HAProxy in front. It has no code of its own; everything is
// in its _test.go files, and each test says what it proves.
package e2e
