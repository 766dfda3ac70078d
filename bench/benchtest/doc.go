// Package benchtest is what the bench module's tests share: a check of a
// comparison server's side of the harness contract (package benchserver),
// a real cliser reactor, and an accept loop for servers that misbehave on
// purpose. Everything starts on 127.0.0.1:0 and stops when the test ends.
package benchtest
