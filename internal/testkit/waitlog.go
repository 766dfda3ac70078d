package testkit

import (
	"strings"
	"testing"
	"time"
)

// WaitLog polls text, a subprocess's log so far, until it holds every
// want, and fails the test with the log after d. A line the process wrote
// before a state the test then saw (a registry record, an HTTP answer) may
// still be in the pipe to the test: wait for it rather than assert at once.
func WaitLog(t testing.TB, d time.Duration, text func() string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := text()
		var missing []string
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not logged within %s: %q\nthe log:\n%s", d, missing, s)
			return
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}

// WaitLog waits up to d for the process to have logged every want (see
// the function WaitLog).
func (p *Process) WaitLog(t testing.TB, d time.Duration, want ...string) {
	t.Helper()
	WaitLog(t, d, p.LogText, want...)
}

// WaitLog waits up to d for the process to have logged every want (see
// the function WaitLog).
func (p *Served) WaitLog(t testing.TB, d time.Duration, want ...string) {
	t.Helper()
	WaitLog(t, d, p.LogText, want...)
}
