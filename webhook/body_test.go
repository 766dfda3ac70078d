package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The body's buffer is reused once its request was written, and not while
// net/http still writes it after the answer came (a receiver that answers
// before reading the body).
func TestBodyBufReusedOnlyOnceWritten(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/early" {
			_, _ = w.Write([]byte("ok"))
			w.(http.Flusher).Flush()
			<-release
		}
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	var b bodyBuf
	post := func(path string, body []byte) *http.Response {
		req, err := http.NewRequestWithContext(b.traced(t.Context()), http.MethodPost, srv.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		return resp
	}

	body := append(b.take(), "batch one"...)
	b.keep(body)
	require.NoError(t, post("/", body).Body.Close())
	next := b.take()
	assert.Equal(t, unsafe.SliceData(body), unsafe.SliceData(next), "written: the same buffer")

	// 16 MB: more than the loopback sockets hold, so the write is still
	// under way when the answer comes (and while its body is open, the
	// connection stays).
	body = append(next, bytes.Repeat([]byte("x"), 16<<20)...)
	b.keep(body)
	resp := post("/early", body)
	next = b.take()
	assert.Zero(t, cap(next), "still being written: a new buffer")
	release <- struct{}{}
	require.NoError(t, resp.Body.Close())
}
