package events_test

import (
	"context"
	"time"

	"github.com/cliser/cliser/events"
)

// waiting runs r.Wait(after) on a goroutine of its own, bounded at 10s, and
// hands back its result: the test appends, then reads the channel.
func waiting(r events.Reader, after uint64) <-chan error {
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got <- r.Wait(ctx, after)
	}()
	return got
}
