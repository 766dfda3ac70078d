package admin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

// foreignServer is a real HTTP server that is not cliser: a proxy's error
// page, or a wrong address the operator typed.
func foreignServer(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestClientNamesAForeignAnswerInsteadOfPrintingIt(t *testing.T) {
	page := "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>" +
		strings.Repeat("<p>nginx</p>\n", 200) + "</body></html>\n"
	long := strings.Repeat("x", 500)
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		want, notWant     []string
	}{
		{name: "a proxy's HTML error page", status: http.StatusBadGateway, ctype: "text/html", body: page,
			want:    []string{"HTTP 502", "HTML page", "proxy or another server"},
			notWant: []string{"<html", "nginx", "\n"}},
		{name: "several lines of text", status: http.StatusServiceUnavailable, ctype: "text/plain",
			body: "upstream down\nsecond line\nthird line",
			want: []string{"upstream down …", "HTTP 503"}, notWant: []string{"second line", "\n"}},
		{name: "terminal control bytes", status: http.StatusForbidden, ctype: "text/plain",
			body: "denied \x1b[2J\x1b]0;owned\x07",
			want: []string{`\x1b[2J`, "HTTP 403"}, notWant: []string{"\x1b", "\x07"}},
		{name: "a long line", status: http.StatusTeapot, ctype: "text/plain", body: long,
			want: []string{strings.Repeat("x", 120) + " …"}, notWant: []string{strings.Repeat("x", 121)}},
		{name: "no body", status: http.StatusBadGateway, ctype: "text/plain", body: "",
			want: []string{"Bad Gateway (HTTP 502)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := admin.NewClient(foreignServer(t, tc.status, tc.ctype, tc.body), "", 5*time.Second)
			require.NoError(t, err)
			_, err = c.Stats(context.Background())
			var se *admin.StatusError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, tc.status, se.Status)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, nw := range tc.notWant {
				assert.NotContains(t, err.Error(), nw)
			}
		})
	}
}

func TestClientNamesAnHTMLPageThatAnsweredOK(t *testing.T) {
	base := foreignServer(t, http.StatusOK, "text/html", "<html><body>captive portal</body></html>")
	c, err := admin.NewClient(base, "", 5*time.Second)
	require.NoError(t, err)
	_, err = c.Stats(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HTML page, not cliser's JSON")
	assert.Contains(t, err.Error(), base)
	assert.NotContains(t, err.Error(), "captive portal")
}

func TestClientStillQuotesCliserErrors(t *testing.T) {
	base := foreignServer(t, http.StatusBadRequest, "application/json", `{"error":"limit must be 1 to 1000"}`)
	c, err := admin.NewClient(base, "", 5*time.Second)
	require.NoError(t, err)
	_, err = c.Stats(context.Background())
	assert.EqualError(t, err, "limit must be 1 to 1000 (HTTP 400)")
}
