package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// A quiet stream gets a comment line every heartbeat, and a server that
// shuts down ends its streams at once instead of waiting on them.
func TestEventsStreamHeartbeatAndShutdown(t *testing.T) {
	old := streamHeartbeat
	streamHeartbeat = 50 * time.Millisecond
	defer func() { streamHeartbeat = old }()
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)

	lines := streamLines(t, "http://"+hs.Addr()+"/v1/events/stream")
	keepAlives := 0
	timeout := time.After(10 * time.Second)
	for keepAlives < 3 {
		select {
		case l := <-lines:
			if l == ": keep-alive" {
				keepAlives++
			}
		case <-timeout:
			t.Fatalf("%d keep-alive comments in 10s at a 50ms heartbeat", keepAlives)
		}
	}

	start := time.Now()
	require.NoError(t, hs.Shutdown(testkit.Context(t, 10*time.Second)), "no request left in flight")
	assert.Less(t, time.Since(start), 5*time.Second)
	var last string
	for l := range lines { // the stream ends, saying why (stream audit)
		if l != "" {
			last = l
		}
	}
	assert.Equal(t, ": stream ended: the server is shutting down", last)
}

// A filtered stream gets its comment line while the log is busy with
// events it filters out: the heartbeat is timed from the stream's own last
// write, so a proxy sees bytes however the log's other traffic goes.
func TestFilteredStreamGetsItsHeartbeatWhileOtherEventsFlow(t *testing.T) {
	old := streamHeartbeat
	streamHeartbeat = 300 * time.Millisecond
	defer func() { streamHeartbeat = old }()
	log, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	defer log.Close()
	hs, err := New(registry.New(), WithEvents(log)).Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = hs.Shutdown(testkit.Context(t, 10*time.Second)) }()

	busy, stopBusy := context.WithCancel(context.Background())
	defer stopBusy()
	go func() { // an event every 20 ms, none of the stream's type
		for busy.Err() == nil {
			log.Append(events.Event{Type: events.TypeConnected, Time: time.Now(), CID: "elsewhere"})
			select {
			case <-busy.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	lines := streamLines(t, "http://"+hs.Addr()+"/v1/events/stream?type="+events.TypeBanDeleted)
	keepAlives, timeout := 0, time.After(20*time.Second)
	for keepAlives < 3 {
		select {
		case l := <-lines:
			require.NotContains(t, l, "elsewhere", "the filter lets only ban.deleted through")
			if l == ": keep-alive" {
				keepAlives++
			}
		case <-timeout:
			t.Fatalf("%d keep-alive comments in 20 s at a 300 ms heartbeat while %d events went by",
				keepAlives, log.Newest())
		}
	}
}

// streamLines opens the event stream at url (200) and hands its lines on
// until it ends; the body is closed when the test ends.
func streamLines(t *testing.T, url string) <-chan string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// FuzzLastEventID sends any Last-Event-ID a client can put in a header
// to GET /v1/events/stream on a real server over a log of 5 events. Every
// value gets a stream (200) that resumes right after the seq it names,
// or a JSON 400 that names the header; a seq written as a number always
// gets the stream; nothing answers 500 or hangs (each request has 5 s),
// and the stream's wait slot is given back once the client leaves.
// Seeded with the ids of the SSE reader's golden cases: what a client
// sends back.
func FuzzLastEventID(f *testing.F) {
	log, err := events.Open(filepath.Join(f.TempDir(), events.FileName))
	require.NoError(f, err)
	f.Cleanup(func() { _ = log.Close() })
	const newest = 5
	for range newest {
		require.True(f, log.Append(events.Event{Type: events.TypeConnected, CID: "pos-0042"}))
	}
	require.NoError(f, log.Wait(testkit.Context(f, 10*time.Second), newest-1))
	api := New(registry.New(), WithEvents(log))
	hs, err := api.Listen("127.0.0.1:0")
	require.NoError(f, err)
	f.Cleanup(func() { _ = hs.Shutdown(testkit.Context(f, 10*time.Second)) })
	client := &http.Client{Transport: &http.Transport{}}
	f.Cleanup(client.CloseIdleConnections)

	for _, c := range sseGolden {
		for _, ev := range c.want {
			f.Add(ev.ID)
		}
	}
	for _, s := range []string{"", " 3 ", "0", "5", "18446744073709551615", "18446744073709551616", "-1", "+1", "0x10", "1e3", "٣", "\t2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		for i := 0; i < len(id); i++ {
			if c := id[i]; (c < ' ' && c != '\t') || c == 0x7f {
				return // no HTTP client sends it in a header
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hs.Addr()+"/v1/events/stream", nil)
		require.NoError(t, err)
		req.Header.Set("Last-Event-ID", id)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("Last-Event-ID %q: %v", id, err)
		}
		defer resp.Body.Close()
		// HTTP drops a header value's spaces and tabs at either end, and
		// the handler any other space (events_stream.go): " \t7" is 7.
		seq, plain := strconv.ParseUint(strings.TrimSpace(id), 10, 64)
		switch resp.StatusCode {
		case http.StatusOK:
			br := bufio.NewReader(resp.Body)
			if first, err := br.ReadString('\n'); err != nil || first != ": stream of cliser events\n" {
				t.Fatalf("Last-Event-ID %q: stream opens with %q, %v", id, first, err)
			}
			if plain == nil && seq < newest {
				line, err := readLine(br, "id: ")
				if want := fmt.Sprintf("id: %d", seq+1); err != nil || line != want {
					t.Fatalf("Last-Event-ID %q: first event %q, %v; want %q", id, line, err, want)
				}
			}
		case http.StatusGone: // past the newest: another log's cursor
			var e GoneResponse
			if plain != nil || seq <= newest {
				t.Fatalf("Last-Event-ID %q: 410, for a seq the log gave", id)
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Newest == nil || *e.Newest != newest {
				t.Fatalf("Last-Event-ID %q: 410 %+v, %v: not the newest seq", id, e, err)
			}
		case http.StatusBadRequest:
			var e ErrorResponse
			if plain == nil {
				t.Fatalf("Last-Event-ID %q, a seq, refused", id)
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || !strings.Contains(e.Error, "Last-Event-ID") {
				t.Fatalf("Last-Event-ID %q: 400 %+v, %v: not a JSON error that names the header", id, e, err)
			}
		default:
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("Last-Event-ID %q: %d %s", id, resp.StatusCode, b)
		}
		resp.Body.Close()
		cancel()
		require.Eventually(t, func() bool { return api.waits.open.Load() == 0 }, 5*time.Second, time.Millisecond,
			"Last-Event-ID %q: the stream's wait slot is given back once its client left", id)
	})
}

// readLine reads lines of br until one starts with prefix, which it
// returns without its newline.
func readLine(br *bufio.Reader, prefix string) (string, error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return line, err
		}
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSuffix(line, "\n"), nil
		}
	}
}
