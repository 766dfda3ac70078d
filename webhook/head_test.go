package webhook

import (
	"bytes"
	"io"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHeadIsRequestWrite: the head the deliverer writes is, byte for
// byte, what net/http's Request.Write writes for the same request, for
// URLs with a query, escapes, credentials, an IPv6 host, no path.
func TestHeadIsRequestWrite(t *testing.T) {
	body := []byte(`{"type":"cliser.events","data":{"events":[]}}`)
	for _, raw := range []string{
		"http://127.0.0.1:9/hook",
		"http://example.net/h/a%2Fb?x=1&y=%20z",
		"https://[::1]:8443/hook",
		"http://hook-user:s3cret@example.net/in",
		"http://example.net",
	} {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		c := newDirect(u, defaultTimeout)
		require.NotNil(t, c, raw)
		id, sig, ts := "msg_1-100", "v1,abc= v1,def=", strconv.FormatInt(1764583200, 10)
		got := append(c.head.appendTo(nil, len(body), id, []byte(sig), []byte(ts)), body...)

		want := *c.req
		want.Header = c.req.Header.Clone()
		want.Header.Set(HeaderID, id)
		want.Header.Set(HeaderSignature, sig)
		want.Header.Set(HeaderTimestamp, ts)
		want.Body, want.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		var b bytes.Buffer
		require.NoError(t, want.Write(&b))
		require.Equal(t, b.String(), string(got), raw)
	}
}
