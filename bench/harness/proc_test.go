package harness

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleProcReadsThisProcess(t *testing.T) {
	a, err := sampleProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, a.RSS)
	assert.Positive(t, a.Threads)
	x := 0
	for i := range 5_000_000 { // burn a little CPU so the counter moves
		x += i ^ x
	}
	_ = x
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
