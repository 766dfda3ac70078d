package webhook

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/events"
)

// TestRedirectLogKeepsTheURLsSecrets: a receiver that redirects (http to
// https, as many do) answers with a Location that keeps the rest of the
// URL, the --webhook-url's password and ?token= included. The log's line
// for the 3xx names where it points without them, as it names the
// webhook. Before, the Location went to the log as it came.
func TestRedirectLogKeepsTheURLsSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "https://user:pw-s3cret@"+r.Host+r.URL.RequestURI()+"#frag-s3cret")
		w.WriteHeader(http.StatusMovedPermanently)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://user:pw-s3cret@" + ln.Addr().String() + "/hook?token=q-s3cret"
	d, l, logs := loggedDeliverer(t, url)
	r := runDeliverer(t, d)
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return logs.FilterMessageSnippet("did not acknowledge").Len() > 0 }, "the 3xx is logged")
	loc := logs.FilterMessageSnippet("did not acknowledge").All()[0].ContextMap()["location"]
	require.Equal(t, "https://"+ln.Addr().String()+"/hook", loc, "the redirect's target, without its secrets")
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			s, _ := v.(string)
			require.False(t, strings.Contains(s, "s3cret"), "log line %q: %s=%q", e.Message, k, s)
		}
	}
	require.NotContains(t, r.d.Healthy().Error(), "s3cret")
}

func TestShownLocation(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   "",
		"/other?token=x":                     "/other",
		"https://u:p@h.example:8443/a?b=c#d": "https://h.example:8443/a",
		"http://[::1/":                       "(not a URL)",
		"//u:p@h.example/a?b=c#d":            "//h.example/a",
	} {
		require.Equal(t, want, shownLocation(in), in)
	}
}

// A batch's answers that turn from one kind to another are each logged
// once: a receiver that answered 500 and then redirected was logged for
// the 500 alone, and the redirect's target was never named (events
// audit). The same answer again is not logged again.
func TestEachKindOfFailureOfABatchIsLogged(t *testing.T) {
	var tries atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Location", "http://"+r.Host+"/else")
		w.WriteHeader(http.StatusFound)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/hook"
	d, l, logs := loggedDeliverer(t, url)
	r := runDeliverer(t, d)
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	appendN(t, l, 1)
	eventually(t, func() bool { return tries.Load() >= 6 }, "the redirect answered again")
	warned := logs.FilterMessageSnippet("did not acknowledge").All()
	require.Len(t, warned, 2, "one line per kind of answer")
	require.Equal(t, "http_5xx", warned[0].ContextMap()["result"])
	require.Equal(t, "http_3xx", warned[1].ContextMap()["result"])
	require.Equal(t, "http://"+ln.Addr().String()+"/else", warned[1].ContextMap()["location"])
}

// loggedDeliverer is a Deliverer to url over a new log, its lines
// observed, trying again every few milliseconds.
func loggedDeliverer(t *testing.T, url string) (*Deliverer, *events.Log, *observer.ObservedLogs) {
	t.Helper()
	l, dir := tempLog(t)
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	core, logs := observer.New(zap.DebugLevel)
	d, err := New(url, l, sg, openCursor(t, dir, url), WithLogger(zap.New(core)),
		WithBackoff(5*time.Millisecond, 50*time.Millisecond), WithLinger(10*time.Millisecond))
	require.NoError(t, err)
	return d, l, logs
}
