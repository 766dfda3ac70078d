package reactor

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/protocol"
)

// Below a ceiling of 10 the filling ends only once one connection is
// free, not at the refused connection's own close: until then the note
// (CeilingErr, /readyz) stays, saying since when, and "room again" is
// not logged (ceiling.closed's doc, docs/operations.md). Found by a
// mutation audit: with roomAgain's floor of one removed, or the filling's
// start not stored, every test passed; TestConnectionCeilingIsLogged
// only counts the "room again" lines at the end.
func TestSmallCeilingStaysFullUntilAConnectionIsFree(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	srv := startServer(t, WithMaxConns(2), WithLogger(zap.New(core)))
	a, b := srv.dial(t), srv.dial(t)
	a.Expect("110 password")
	b.Expect("110 password")
	before := time.Now().UTC().Truncate(time.Second)
	srv.dial(t).ExpectClosed(closeLine(protocol.ReasonServerFull))
	eventually(t, func() bool { return srv.Connections() == 2 }, "the refused connection closed")

	err := srv.CeilingErr()
	require.Error(t, err, "still full: both connections are open")
	m := regexp.MustCompile(`was reached at (\S+Z):`).FindStringSubmatch(err.Error())
	require.Len(t, m, 2, err.Error())
	since, perr := time.Parse(time.RFC3339, m[1])
	require.NoError(t, perr)
	assert.Contains(t, err.Error(), "until a tenth of it (one at least) is free again; 2 open now")
	assert.False(t, since.Before(before), "since the refusal (%s), not the epoch", since)
	assert.False(t, since.After(time.Now()), "since the refusal, not later")
	assert.Zero(t, logs.FilterMessageSnippet("connection ceiling has room again").Len())

	_ = a.Conn.Close()
	// The note clears before the line is logged: wait for both.
	eventually(t, func() bool {
		return srv.CeilingErr() == nil && logs.FilterMessageSnippet("connection ceiling has room again").Len() > 0
	}, "room again once one is free")
	assert.Equal(t, 1, logs.FilterMessageSnippet("connection ceiling has room again").Len())
}
