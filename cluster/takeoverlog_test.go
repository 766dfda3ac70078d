package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/protocol"
)

// A client that moves from n1 to n2 is a takeover whose two log lines
// name the other node: n2's says which node held the client before
// ("from_node"), n1's, closing its session, which node has it now
// ("to_node"). A client that left n1 before it came to n2 is no
// takeover, and has no line. Before, n2 logged nothing of the takeover
// and n1's line named only n1 (its logger's "node"), so which node took
// the client, or from where, was not in either log (logs audit).
func TestTakeoverLinesNameTheOtherNode(t *testing.T) {
	url := runNATS(t)
	logged := func(id string) (node.Option, *observer.ObservedLogs) {
		core, logs := observer.New(zap.InfoLevel)
		return node.WithLogger(zap.New(zapcore.NewTee(zaptest.NewLogger(t).Named(id).Core(), core))), logs
	}
	o1, logs1 := logged("n1")
	o2, logs2 := logged("n2")
	n1, n2 := startNodeOpts(t, url, "n1", o1), startNodeOpts(t, url, "n2", o2)

	// A client gone from n1 that comes back on n2 is taken from no one:
	// no line (only mover's below).
	back := register(t, n1.srv.Addr(), "returner")
	eventually(t, func() bool { return n2.listed(t, "returner") }, "n2 sees returner held by n1")
	assert.NoError(t, back.Conn.Close())
	eventually(t, func() bool { r, ok := n2.record(t, "returner"); return ok && !r.CStatus }, "n2 sees returner gone")
	register(t, n2.srv.Addr(), "returner")
	eventually(t, func() bool { r, ok := n1.record(t, "returner"); return ok && r.CStatus && r.Node == "n2" },
		"n1 sees returner back on n2")

	old := register(t, n1.srv.Addr(), "mover")
	eventually(t, func() bool { return n2.listed(t, "mover") }, "n2 sees mover held by n1")
	register(t, n2.srv.Addr(), "mover")
	old.ExpectClosed("190 " + protocol.ReasonReplaced.String())

	var took, closing []observer.LoggedEntry
	eventually(t, func() bool {
		took = logs2.FilterMessage("cluster: client taken over from another node").All()
		closing = logs1.FilterMessage("cluster: client registered on another node; closing here").All()
		return len(took) > 0 && len(closing) > 0
	}, "both nodes' takeover lines")
	assert.Len(t, took, 1)
	assert.Equal(t, map[string]any{"node": "n2", "cid": "mover", "from_node": "n1"}, took[0].ContextMap())
	assert.Len(t, closing, 1)
	assert.Equal(t, map[string]any{"node": "n1", "cid": "mover", "to_node": "n2"}, closing[0].ContextMap())
}

// A takeover whose write fails (NATS away) is logged once, when the
// write is made, not at every flush that retries it: the line came
// before the write, so every flush interval of an outage said it again
// (150 lines in 3 s here, 4 a second per client at the default 250 ms).
func TestTakeoverLineIsLoggedOnceWhenItsWriteIsRetried(t *testing.T) {
	ns, restart := restartableNATS(t)
	url := ns.ClientURL()
	core, logs2 := observer.New(zap.InfoLevel)
	n1 := startNodeOpts(t, url, "n1")
	n2 := startNodeOpts(t, url, "n2", node.WithLogger(zap.New(zapcore.NewTee(zaptest.NewLogger(t).Named("n2").Core(), core))))
	old := register(t, n1.srv.Addr(), "mover")
	eventually(t, func() bool { return n2.listed(t, "mover") }, "n2 sees mover held by n1")
	stopNATS(t, ns, n1, n2)

	register(t, n2.srv.Addr(), "mover")
	failed := n2.reg.StoreHealth().Failures
	eventually(t, func() bool { return n2.reg.StoreHealth().Failures >= failed+3 }, "n2's flush fails a few times")
	took := func() int { return len(logs2.FilterMessage("cluster: client taken over from another node").All()) }
	assert.Zero(t, took(), "not written yet: not logged")

	restart()
	old.ExpectClosed("190 " + protocol.ReasonReplaced.String())
	eventually(t, func() bool { return took() > 0 }, "n2's line once its write is made")
	assert.Equal(t, 1, took())
}
