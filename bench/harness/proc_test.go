package harness

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleProcReadsThisProcess(t *testing.T) {
	a, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, a.RSS)
	assert.Positive(t, a.Threads)
	x := 0
	for start := time.Now(); time.Since(start) < 30*time.Millisecond; { // burn some CPU so the counter moves
		for i := range 100_000 {
			x += i ^ x
		}
	}
	_ = x
	time.Sleep(20 * time.Millisecond) // a context switch brings schedstat up to date
	b, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, b.CPU, a.CPU)
	st, err := statCPU(os.Getpid())
	require.NoError(t, err)
	assert.LessOrEqual(t, st, b.CPU+b.CPU/2+20e6, "stat and schedstat agree roughly")
}

func TestSampleProcOfMissingProcessFails(t *testing.T) {
	_, err := sampleProc(1 << 30)
	assert.Error(t, err)
}
