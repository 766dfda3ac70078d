package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A ban's duration says what is wrong with it: one too long for Go's
// durations is no "positive duration" mistake.
func TestParseBanDurationSaysWhy(t *testing.T) {
	d, err := ParseBanDuration("90m")
	require.NoError(t, err)
	assert.Equal(t, 90*time.Minute, d)
	d, err = ParseBanDuration(" ")
	require.NoError(t, err)
	assert.Zero(t, d, "until lifted")
	_, err = ParseBanDuration("100000000h")
	require.ErrorIs(t, err, ErrBadBan)
	assert.Contains(t, err.Error(), "at most 2562047h")
	_, err = ParseBanDuration("-1h")
	assert.ErrorContains(t, err, "want a positive duration")
}
