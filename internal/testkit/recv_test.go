package testkit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Recv hands back what was sent, and the zero value once the channel is
// closed, without waiting out its bound.
func TestRecvValueAndClosed(t *testing.T) {
	ch := make(chan string, 1)
	ch <- "listening on 127.0.0.1:1"
	assert.Equal(t, "listening on 127.0.0.1:1", Recv(t, ch, 10*time.Second, "no value"))
	close(ch)
	start := time.Now()
	assert.Equal(t, "", Recv(t, ch, 10*time.Second, "no value"))
	assert.Less(t, time.Since(start), 5*time.Second)
}
