package benchtest

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/bench/benchserver"
	"github.com/cliser/cliser/internal/testkit"
)

// CheckContract runs run with args and checks the harness's contract: the
// address on the first line, a trigger → "130 shutdown bench" to every
// registered client and "shutdown sent N", and a clean stop when the
// context ends.
func CheckContract(t *testing.T, run benchserver.RunFunc, args ...string) {
	t.Setenv("CLISER_PASSWORD", "pw")
	s := Start(t, run, args...)
	first := s.Next(t)
	addr, ok := strings.CutPrefix(first, "listening on ")
	require.True(t, ok, first)

	c := testkit.Dial(t, addr)
	c.Register("pw", "dev-1")
	s.Trigger <- os.Interrupt
	assert.Equal(t, "shutdown sent 1", s.Next(t))
	c.Expect("130 shutdown " + benchserver.ShutdownText)
	c.Send("130 ok\n")
	c.ExpectClosed()

	require.NoError(t, s.Stop(t))
}

// CheckUsageMistakes checks that no password, a positional argument and a
// bad flag value are usage mistakes (exit 2) that say what to fix.
func CheckUsageMistakes(t *testing.T, run benchserver.RunFunc) {
	t.Setenv("CLISER_PASSWORD", "")
	err := run(context.Background(), nil, io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set CLISER_PASSWORD")
	assert.Equal(t, 2, benchserver.ExitCode(err))

	t.Setenv("CLISER_PASSWORD", "pw")
	for _, args := range [][]string{{"extra"}, {"--keepalive-interval", "soon"}} {
		err := run(context.Background(), args, io.Discard, nil)
		assert.Equal(t, 2, benchserver.ExitCode(err), "%v: %v", args, err)
	}
}
