// Package tick runs a function on a fixed interval until a context ends:
// the loop the samplers and sweepers of several packages share.
package tick

import (
	"context"
	"time"
)

// Every calls f with the tick's time every interval until ctx ends; it
// returns then. f runs on the caller's goroutine, one call at a time.
func Every(ctx context.Context, interval time.Duration, f func(now time.Time)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f(now)
		}
	}
}
