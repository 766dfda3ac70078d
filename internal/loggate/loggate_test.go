package loggate

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/internal/mono"
)

// One line per interval, however many goroutines ask at once.
func TestGateLetsOneLineThroughPerInterval(t *testing.T) {
	var g Gate
	var through atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if g.Open(time.Hour) {
				through.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), through.Load(), "the first asks of an hour")
	g.last.Store(mono.Now() - int64(2*time.Hour))
	assert.True(t, g.Open(time.Hour), "an hour later")
	assert.False(t, g.Open(time.Hour))
}

// One first failure and one recovery per episode, however many tries
// repeat either.
func TestEpisodeTellsItsStartAndEnd(t *testing.T) {
	var e Episode
	assert.False(t, e.Failing(), "the zero Episode")
	assert.False(t, e.OK(), "a success with no failure before it")
	assert.True(t, e.Fail(), "the first failure")
	assert.True(t, e.Failing())
	assert.False(t, e.Fail(), "a repeat")
	assert.False(t, e.Fail())
	assert.True(t, e.OK(), "the first success after")
	assert.False(t, e.Failing())
	assert.False(t, e.OK(), "a repeat")
	assert.True(t, e.Fail(), "a new episode")
}
