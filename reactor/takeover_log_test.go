package reactor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/protocol"
)

// A session taken over by a newer connection with the same client ID logs
// "client disconnected" with that cid and reason "replaced". Before, its
// sid went back to the registry at the takeover, so the session (which
// keeps no cid) found no record by it and logged cid "" (logs audit).
func TestTakenOverSessionLogsItsCID(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	srv := startServer(t, WithLogger(zap.New(core)))
	old := srv.connect(t, "taken-over")
	srv.connect(t, "taken-over")
	old.ExpectClosed(closeLine(protocol.ReasonReplaced))

	var ends []observer.LoggedEntry
	eventually(t, func() bool {
		ends = logs.FilterMessage("client disconnected").All()
		return len(ends) > 0
	}, "the replaced session's line")
	require.Len(t, ends, 1)
	f := ends[0].ContextMap()
	assert.Equal(t, "taken-over", f["cid"])
	assert.Equal(t, protocol.ReasonReplaced.String(), f["reason"])
}
