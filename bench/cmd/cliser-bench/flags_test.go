package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hold rounds' probe window is the mode's unless a flag says, and 0
// skips it.
func TestHoldRoundProbesFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"--mode", "full"}, 2 * time.Second},
		{[]string{"--hold-round-probes", "3s"}, 3 * time.Second},
		{[]string{"--hold-round-probes", "0"}, 0},
	} {
		fs, c := commonFlagSet("compare")
		require.NoError(t, fs.Parse(tc.args))
		set, err := c.settings()
		require.NoError(t, err)
		assert.Equal(t, tc.want, set.RoundProbeHold, tc.args)
	}
}
