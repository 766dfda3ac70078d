package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// replayStreams runs n streams, each reading the log from seq 0 up to
// last, again and again until end; got counts the events they received.
func replayStreams(ctx context.Context, base string, n int, last uint64, end time.Time, got *atomic.Int64) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := replayOnce(ctx, client, base, last, got); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none failed
}

// replayOnce reads one stream from seq 0 until the event of seq last.
func replayOnce(ctx context.Context, client *http.Client, base string, last uint64, got *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events/stream?after=0", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/events/stream: %s", resp.Status)
	}
	// Read cheaply (no string per line): the streams share the cores
	// with the server they measure.
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("the stream ended before seq %d: %w", last, err)
		}
		if id, ok := bytes.CutPrefix(line, []byte("id: ")); ok {
			got.Add(1)
			if seq, _ := strconv.ParseUint(string(bytes.TrimSpace(id)), 10, 64); seq >= last {
				return nil
			}
		}
	}
}
