package webhook

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFailedTryThroughAProxyKeepsTheURLsSecrets: a try through net/http
// (the path of a receiver behind a proxy from the environment) that gets
// no answer fails with a *url.Error, whose text is the whole URL, query
// included ("Post \"http://u:***@host/h?token=...\": EOF"). /readyz
// shows the last answer to callers without the admin token, and the log
// line carries it: neither may hold the URL's query or password.
func TestFailedTryThroughAProxyKeepsTheURLsSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() { // a receiver that hangs up on every request
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	url := "http://user:pw-s3cret@" + ln.Addr().String() + "/hook?token=q-s3cret"
	d, l, logs := loggedDeliverer(t, url)
	d.direct = nil // through net/http's client, as behind a proxy
	r := runDeliverer(t, d)
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return r.d.Healthy() != nil }, "the failure is said")
	msg := r.d.Healthy().Error()
	require.Contains(t, msg, "last answer: error: ")
	for _, secret := range []string{"s3cret", "token="} {
		require.NotContains(t, msg, secret, "Healthy (/readyz)")
	}
	eventually(t, func() bool { return logs.FilterMessageSnippet("did not acknowledge").Len() > 0 }, "the failure is logged")
	for _, e := range logs.All() {
		line := e.Message
		for _, f := range e.Context {
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok {
					line += " " + err.Error()
				}
			}
			line += " " + f.String
		}
		require.False(t, strings.Contains(line, "s3cret"), "log line %q", line)
	}
}
