package harness

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
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
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secretFile := filepath.Join(o.WorkDir, "webhook-secret")
	if err := os.WriteFile(secretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, errors.Join(err, sink.srv.Close())
	}
	o.Args = append(o.Args, "--webhook-url", url, "--webhook-secret-file", secretFile)
	p, err := startCliser(ctx, o)
	if err != nil {
		return nil, errors.Join(err, sink.srv.Close())
	}
	return &cliserEvents{cliserProc: p, sink: sink}, nil
}

func (s *cliserEvents) Stop(ctx context.Context) error {
	return errors.Join(s.cliserProc.Stop(ctx), s.sink.srv.Close())
}
