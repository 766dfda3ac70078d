package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// request is one request a test receiver got.
type request struct {
	at       time.Time
	id       string
	ts       string
	verified bool // by hmacVerify, independently of the signer
	payload  Payload
}

// receiver is a real HTTP endpoint (httptest listens on 127.0.0.1:0)
// that checks every request's signature on its own and answers with
// answer(n), n counting requests from 1.
type receiver struct {
	t      testing.TB
	secret string
	srv    *httptest.Server
	answer func(n int, w http.ResponseWriter) // nil: 200

	mu   sync.Mutex
	reqs []request
}

func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{t: t, secret: vectorSecret, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{at: time.Now(), id: r.Header.Get(HeaderID), ts: r.Header.Get(HeaderTimestamp)}
	req.verified = r.Method == http.MethodPost &&
		hmacVerify(rc.secret, req.id, req.ts, body, r.Header.Get(HeaderSignature))
	if err := json.Unmarshal(body, &req.payload); err != nil {
		rc.t.Errorf("receiver: body is not the payload: %v: %s", err, body)
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, req)
	n := len(rc.reqs)
	rc.mu.Unlock()
	if rc.answer != nil {
		rc.answer(n, w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// acked are the seqs of the events of requests answered 2xx, in order;
// answered says which request numbers (from 1) were acknowledged.
func seqsOf(reqs []request, answered func(n int) bool) []uint64 {
	var out []uint64
	for i, r := range reqs {
		if answered(i + 1) {
			for _, e := range r.payload.Data.Events {
				out = append(out, e.Seq)
			}
		}
	}
	return out
}

func all(int) bool { return true }

// openLog opens the real single-node event log in dir.
func openLog(t testing.TB, dir string, opts ...events.Option) *events.Log {
	t.Helper()
	l, err := events.Open(filepath.Join(dir, events.FileName), opts...)
	require.NoError(t, err)
	return l
}

// tempLog opens an event log in a fresh temp dir, closed when the test
// ends (after the deliverers it started stop); dir is for the cursor.
func tempLog(t testing.TB, opts ...events.Option) (l *events.Log, dir string) {
	t.Helper()
	dir = t.TempDir()
	l = openLog(t, dir, opts...)
	t.Cleanup(func() { _ = l.Close() })
	return l, dir
}

// appendN appends n client.connected events and waits until the log has
// them all.
func appendN(t testing.TB, l *events.Log, n int) {
	t.Helper()
	want := l.Newest() + uint64(n)
	for i := range n {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "dev-" + strconv.Itoa(i), Node: "n1"}))
	}
	require.Eventually(t, func() bool { return l.Newest() >= want }, 15*time.Second, 5*time.Millisecond)
}

// running is a Deliverer on its goroutine.
type running struct {
	d    *Deliverer
	stop context.CancelFunc
	done chan error
	once sync.Once
	err  error
}

// deliveringTo starts a deliverer of l to rc, with a cursor in dir and a
// 10ms linger, and waits until it delivers.
func deliveringTo(t testing.TB, rc *receiver, l events.Reader, dir string) *running {
	t.Helper()
	r := startDeliverer(t, rc.srv.URL, l, openCursor(t, dir, rc.srv.URL), WithLinger(10*time.Millisecond))
	eventually(t, func() bool { return r.d.Delivering() }, "delivering")
	return r
}

func startDeliverer(t testing.TB, url string, l events.Reader, c Cursor, opts ...Option) *running {
	t.Helper()
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	opts = append([]Option{WithLogger(zaptest.NewLogger(t)), WithBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)
	d, err := New(url, l, sg, c, opts...)
	require.NoError(t, err)
	return runDeliverer(t, d)
}

// runDeliverer runs d on a goroutine of its own until the test ends.
func runDeliverer(t testing.TB, d *Deliverer) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{d: d, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { _ = r.halt() })
	return r
}

// endsByItself waits up to 10 s for Run to return unstopped, and returns
// its error (halt's too from then on).
func (r *running) endsByItself(t testing.TB) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.once.Do(func() { r.err = err })
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end by itself")
		return nil
	}
}

// halt stops the deliverer and waits for it; it returns Run's error.
// Safe to call more than once.
func (r *running) halt() error {
	r.once.Do(func() {
		r.stop()
		r.err = <-r.done
	})
	return r.err
}

// openCursor opens url's cursor in dir, closed when the test ends (after
// the deliverers started later stop): its watcher writes a file that has
// left the dir back, and so raced the temp dir's removal (CI: "directory
// not empty").
func openCursor(t testing.TB, dir, url string) *FileCursor {
	t.Helper()
	c, err := OpenFileCursor(dir, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// metricValue reads one of d's metrics (label "" for none).
func metricValue(t testing.TB, d *Deliverer, name, label string) float64 {
	t.Helper()
	return testkit.Gathered(t, d.Collectors(), name, label)
}

func eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, append([]any{msg}, args...)...)
}

// receiverOn starts rc's handler on addr (a receiver coming up).
func (rc *receiver) restartOn(t testing.TB, addr string) {
	t.Helper()
	rc.srv = testkit.RestartHTTPOn(t, rc.srv, addr, http.HandlerFunc(rc.serve))
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// newRawReceiver passes each request's raw body to out and answers 200.
func newRawReceiver(t testing.TB, out chan<- []byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case out <- b:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
