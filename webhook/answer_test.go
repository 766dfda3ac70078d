package webhook

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// quickAnswerCases are parseQuickAnswer's golden cases.
var quickAnswerCases = []struct {
	in     string
	status int // 0: left to ReadResponse
}{
	{"HTTP/1.1 204 No Content\r\nDate: Wed, 02 Dec 2026 06:00:00 GMT\r\n\r\n", 204},
	{"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nContent-Type: text/plain\r\n\r\n", 200},
	{"HTTP/1.1 202\r\nContent-Length:  0 \r\n\r\nHTTP/1.1 204", 202},
	{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0}, // a body
	{"HTTP/1.1 200 OK\r\n\r\n", 0},                        // a body up to the close
	{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0},
	{"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", 0},
	{"HTTP/1.1 204 No Content\r\nDate: Wed, 02 Dec", 0}, // not whole yet
	{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0},
	{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0},
	{"HTTP/1.0 204 No Content\r\n\r\n", 0},
	{"HTTP/1.1 204 No Content\r\n X: folded\r\n\r\n", 0},
	{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 0},
	{"HTTP/1.1 204 No Content\n\n", 0},
}

func TestQuickAnswer(t *testing.T) {
	for _, tc := range quickAnswerCases {
		status, n, ok := parseQuickAnswer([]byte(tc.in))
		if tc.status == 0 {
			require.False(t, ok, "%q", tc.in)
			continue
		}
		require.True(t, ok, "%q", tc.in)
		require.Equal(t, tc.status, status, "%q", tc.in)
		require.Equal(t, bytes.Index([]byte(tc.in), []byte("\r\n\r\n"))+4, n, "%q", tc.in)
	}
}

// FuzzQuickAnswer: an answer parseQuickAnswer takes is one ReadResponse
// reads the same: its status, no body, the connection kept, and the same
// bytes consumed. Seeded with the golden cases.
func FuzzQuickAnswer(f *testing.F) {
	for _, tc := range quickAnswerCases {
		f.Add([]byte(tc.in))
	}
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 299 x\r\nA: \t b\r\n\r\nrest",
	} {
		f.Add([]byte(seed))
	}
	req := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: "http", Host: "h", Path: "/"}}
	f.Fuzz(func(t *testing.T, in []byte) {
		status, n, ok := parseQuickAnswer(in)
		if !ok {
			return
		}
		br := bufio.NewReader(bytes.NewReader(in))
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err, "%q", in)
		require.Equal(t, resp.StatusCode, status, "%q", in)
		require.False(t, resp.Close, "%q: ReadResponse closes", in)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Empty(t, body, "%q", in)
		rest, _ := io.ReadAll(br)
		require.Equal(t, len(in)-n, len(rest), "%q: consumed", in)
	})
}
