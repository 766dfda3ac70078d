package earlysig

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only `cliser serve` catches at start; the channel it gets hears the
// signals Go's default would have ended the process for.
func TestCatchesServesSignalsOnly(t *testing.T) {
	assert.Nil(t, catch([]string{"cliser"}))
	assert.Nil(t, catch([]string{"cliser", "agent", "serve"}))
	ch := catch([]string{"cliser", "serve", "--listen", ":0"})
	require.NotNil(t, ch)
	defer signal.Stop(ch)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT} {
		require.NoError(t, syscall.Kill(os.Getpid(), sig))
		select {
		case got := <-ch:
			assert.Equal(t, sig, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("%v not caught", sig)
		}
	}
}
