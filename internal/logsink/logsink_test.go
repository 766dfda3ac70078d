package logsink

import (
	"errors"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky fails its writes while err is set.
type flaky struct{ err error }

func (f *flaky) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	return len(p), nil
}

// Failed writes are counted and said in Health, with since when and how
// many lines; once a write goes through again, Health is nil and the
// count stays.
func TestSinkKeepsItsFailures(t *testing.T) {
	w := &flaky{}
	s := New(w, "stderr")
	_, err := s.Write([]byte("a\n"))
	require.NoError(t, err)
	require.NoError(t, s.Health())

	w.err = syscall.EPIPE
	for range 3 {
		_, err = s.Write([]byte("b\n"))
		assert.True(t, errors.Is(err, syscall.EPIPE))
	}
	h := s.Health()
	require.Error(t, h)
	assert.Contains(t, h.Error(), "log: writes to stderr fail since ")
	assert.Contains(t, h.Error(), "broken pipe; 3 lines lost")
	assert.Equal(t, 3.0, testutil.ToFloat64(s.errors))

	w.err = nil
	_, err = s.Write([]byte("c\n"))
	require.NoError(t, err)
	assert.NoError(t, s.Health(), "writes work again")
	assert.Equal(t, 3.0, testutil.ToFloat64(s.errors), "a counter only grows")
}
