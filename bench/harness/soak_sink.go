package harness

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
)

// eventSink is the soak's webhook receiver: it answers 204 and counts the
// events it took by type, and those whose seq was not above the newest
// one it had (a redelivery; EVENTS.md's delivery is at least once).
type eventSink struct {
	srv *http.Server

	mu          sync.Mutex
	requests    int64
	byType      map[string]int64
	newest      uint64
	redelivered int64
	bad         int64 // bodies that were not EVENTS.md's
}

// startEventSink listens on 127.0.0.1 and returns the sink and its URL.
func startEventSink() (*eventSink, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	s := &eventSink{byType: map[string]int64{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(ln) }()
	return s, "http://" + ln.Addr().String() + "/hook", nil
}

// webhookBody is the part of EVENTS.md's request body the sink reads.
type webhookBody struct {
	Data struct {
		Events []struct {
			Seq  uint64 `json:"seq"`
			Type string `json:"type"`
		} `json:"events"`
	} `json:"data"`
}

func (s *eventSink) serve(w http.ResponseWriter, r *http.Request) {
	var body webhookBody
	err := json.NewDecoder(r.Body).Decode(&body)
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.requests++
	if err != nil {
		s.bad++
	}
	for _, e := range body.Data.Events {
		s.byType[e.Type]++
		if e.Seq <= s.newest {
			s.redelivered++
		}
		s.newest = max(s.newest, e.Seq)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// SinkCounts are what the soak's webhook receiver took.
type SinkCounts struct {
	Requests    int64            `json:"requests"`
	ByType      map[string]int64 `json:"events_by_type"`
	NewestSeq   uint64           `json:"newest_seq"`
	Redelivered int64            `json:"redelivered"` // seq not above the newest taken before
	BadBodies   int64            `json:"bad_bodies"`
}

func (s *eventSink) counts() SinkCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SinkCounts{Requests: s.requests, ByType: maps.Clone(s.byType), NewestSeq: s.newest,
		Redelivered: s.redelivered, BadBodies: s.bad}
}

func (s *eventSink) close() error {
	if s == nil {
		return nil
	}
	if err := s.srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
