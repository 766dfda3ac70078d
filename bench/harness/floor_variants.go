package harness

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
)

// KindCliserEvents is `cliser serve` as KindCliser with the event log on
// (its default retention) and a webhook to a sink in the harness: what
// the event log and its delivery add, in the same run (issue 17). The
// plain KindCliser run has the log off, so that cliser ÷ floor is the
// connection manager's own cost.
const KindCliserEvents = "cliser+events"

// eventsOff is what KindCliser adds to `cliser serve`.
var eventsOff = []string{"--event-retention", "0"}

// webhookSink takes the server's webhook POSTs and answers 204.
type webhookSink struct {
	srv      *http.Server
	requests atomic.Int64
}

func startWebhookSink() (*webhookSink, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &webhookSink{}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.requests.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, "http://" + ln.Addr().String() + "/hook", nil
}

// cliserEvents is the cliser subprocess and its webhook sink.
type cliserEvents struct {
	*cliserProc
	sink *webhookSink
}

func startCliserEvents(ctx context.Context, o ServerOptions) (*cliserEvents, error) {
	sink, url, err := startWebhookSink()
	if err != nil {
		return nil, err
	}
	args, err := webhookArgs(o.WorkDir, url)
	if err != nil {
		return nil, errors.Join(err, sink.srv.Close())
	}
	o.Args = append(o.Args, args...)
	p, err := startCliser(ctx, o)
	if err != nil {
		return nil, errors.Join(err, sink.srv.Close())
	}
	return &cliserEvents{cliserProc: p, sink: sink}, nil
}

// webhookArgs are the flags of `cliser serve` that send its events to
// url, signed with a random secret written to a file under workDir.
func webhookArgs(workDir, url string) ([]string, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secretFile := filepath.Join(workDir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return []string{"--webhook-url", url, "--webhook-secret-file", secretFile}, nil
}

func (s *cliserEvents) Stop(ctx context.Context) error {
	return errors.Join(s.cliserProc.Stop(ctx), s.sink.srv.Close())
}

// KindCliserTrust is KindCliserEvents with a credential enrolled for every
// client ID the run uses, each load client answering 110 with its own
// secret (IDENTITY.md's deferred check, on the 120 answer): issue 17's
// "per-client credentials for every client and the event log with a
// webhook on", judged against KindCliser (both off). KindCliserEvents in
// the same run says which of the two costs what.
const KindCliserTrust = "cliser+identity+events"

// trustKey derives KindCliserTrust's secrets (load.Secret); trustPrefix
// is the load's client-id prefix, which the credentials must match.
const (
	trustKey    = "cliser-bench-trust"
	trustPrefix = "bench-"
)

// startCliserTrust enrolls o.Credentials client IDs, starts cliser+events
// on them and checks that it authenticates per client, so that the
// variant cannot measure the shared password by mistake.
func startCliserTrust(ctx context.Context, o ServerOptions) (*cliserEvents, error) {
	if o.Credentials <= 0 {
		return nil, errors.New("cliser+identity+events: no client IDs to enroll")
	}
	if err := SeedCredentials(cliserData(o.WorkDir), trustKey, trustPrefix, o.Credentials); err != nil {
		return nil, fmt.Errorf("enrolling %d client IDs: %w", o.Credentials, err)
	}
	s, err := startCliserEvents(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := checkPerClientAuth(ctx, s.cliserProc, o); err != nil {
		return nil, errors.Join(err, s.Stop(ctx))
	}
	return s, nil
}

// startCliserEventsRef is cliser+events, made to do what
// cliser+identity+events' start check does before the start RSS is read:
// a /metrics scrape and a refused handshake (the first admin connection
// and Prometheus gather, the first protocol connection; a refusal is no
// event). Without it the credentials' memory, the difference of the two
// start RSSes, took in ~1.9 MB of that first work: ~100 B a credential
// of the 19,000 (measured session 7 with `cliser serve` alone).
func startCliserEventsRef(ctx context.Context, o ServerOptions) (*cliserEvents, error) {
	s, err := startCliserEvents(ctx, o)
	if err != nil {
		return nil, err
	}
	_, err = scrapeGauges(ctx, s.admin.Base()+"/metrics", admin.MetricCredentials)
	if err == nil {
		err = refused(ctx, s.addr, "110 "+o.Password+"-not\n")
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("cliser+events: a wrong password: %w", err), s.Stop(ctx))
	}
	return s, nil
}

// checkPerClientAuth: the server holds every credential (its
// cliser_credentials gauge), and an enrolled client ID that answers the
// shared password is refused with "190 auth failed".
func checkPerClientAuth(ctx context.Context, s *cliserProc, o ServerOptions) error {
	got, err := scrapeGauges(ctx, s.admin.Base()+"/metrics", admin.MetricCredentials)
	if err != nil {
		return err
	}
	if int(got[0]) != o.Credentials {
		return fmt.Errorf("cliser+identity+events: the server holds %v credentials, want %d", got[0], o.Credentials)
	}
	if err := refused(ctx, s.addr, "110 "+o.Password+"\n120 "+trustPrefix+"0\n"); err != nil {
		return fmt.Errorf("cliser+identity+events: an enrolled client ID answering the shared password: %w: the server does not check per-client secrets", err)
	}
	return nil
}

// refused sends send on a new connection to addr, whose last line must be
// "190 auth failed".
func refused(ctx context.Context, addr, send string) error {
	last, err := lastLine(ctx, addr, send)
	if err != nil {
		return err
	}
	if want := strings.TrimSpace(string(protocol.AppendClose(nil, protocol.ReasonAuthFailed))); last != want {
		return fmt.Errorf("got %q, want %q", last, want)
	}
	return nil
}

// lastLine sends send on a new connection to addr and returns the last
// line the server wrote before it closed (within 10 s).
func lastLine(ctx context.Context, addr, send string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, send); err != nil {
		return "", err
	}
	var last string
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		last = sc.Text()
	}
	return last, sc.Err()
}

// noteVariant records what a variant had on: the credentials enrolled and
// the webhook requests its sink took.
func (r *runner) noteVariant() {
	if s, ok := r.srv.(*cliserEvents); ok {
		r.res.WebhookRequests = s.sink.requests.Load()
		if r.kind == KindCliserTrust {
			r.res.Credentials = r.credentials
		}
	}
}
