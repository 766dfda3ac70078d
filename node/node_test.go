package node_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// A node with a data dir serves a client, drains it on Shutdown with
// "190 server shutting down", writes its record, and closes every
// listener; a second node on the same data dir finds the record.
func TestNodeStartShutdownKeepsRecords(t *testing.T) {
	dir := t.TempDir()
	n := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(100))
	c := testkit.Dial(t, n.Addr())
	c.Register(nodetest.Password, "dev-1")
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, api.Probe(context.Background(), "/readyz"))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, n.Shutdown(ctx))
	c.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
	for _, addr := range []string{n.Addr(), n.AdminAddr()} {
		_, err := net.DialTimeout("tcp", addr, time.Second)
		require.Error(t, err, "%s still accepts after Shutdown", addr)
	}
	require.NoError(t, n.Shutdown(ctx), "a second Shutdown returns the first's result")

	again := nodetest.Start(t, node.WithDataDir(dir), node.WithEventRetention(100))
	rec, ok := again.Registry().Get("dev-1")
	require.True(t, ok, "the record was not written to the data dir")
	require.False(t, rec.CStatus, "a record loaded after a stop is disconnected")
	page, err := again.API().Events(context.Background(), admin.EventsQuery{Limit: 10})
	require.NoError(t, err)
	require.NotEmpty(t, page.Events, "the event log kept nothing across the restart")
}

// A node whose protocol port is taken fails Start with an error naming
// the address, and leaves nothing open: the data dir opens again at once.
func TestNodeStartFailureReleasesEverything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	dir := t.TempDir()
	n := nodetest.New(t, node.WithDataDir(dir), node.WithListen(taken.Addr().String()))
	err = n.Start(context.Background())
	require.ErrorContains(t, err, "listen "+taken.Addr().String())
	require.ErrorContains(t, err, "(set --listen to another address)", "the fix names the flag, as --admin-listen's does")
	require.NoError(t, n.Shutdown(context.Background()), "Shutdown of a node that never ran")
	require.ErrorIs(t, n.Start(context.Background()), node.ErrStarted)

	// bbolt holds an exclusive lock on its file: were the store still
	// open, this would wait for it and fail.
	ok := nodetest.Start(t, node.WithDataDir(dir))
	require.NotEmpty(t, ok.Addr())
}

// A setting that can not work is an ErrConfig, for `cliser serve` to
// exit 2 on.
func TestNodeConfigMistakes(t *testing.T) {
	n := nodetest.New(t, node.WithEventRetention(10)) // no data dir, no cluster
	err := n.Start(context.Background())
	require.ErrorIs(t, err, node.ErrConfig)
	require.ErrorContains(t, err, "data dir")

	hook := nodetest.New(t, node.WithDataDir(t.TempDir()), node.WithWebhook(node.Webhook{URL: "http://127.0.0.1:1/h"}))
	err = hook.Start(context.Background())
	require.ErrorIs(t, err, node.ErrConfig, "a webhook without the event log")

	// --data-dir naming a file: the flag is the operator's to fix (exit 2).
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	onFile := nodetest.New(t, node.WithDataDir(file))
	err = onFile.Start(context.Background())
	require.ErrorIs(t, err, node.ErrConfig, "a data dir that is a file")
	require.ErrorContains(t, err, "data dir "+file)
}

// An event log file that will not open (a directory in its place) is a
// damaged data dir, as the registry's and identity's files are: not an
// ErrConfig, whose exit status 2 says a usage mistake.
func TestNodeEventFileThatWillNotOpenIsNotAConfigMistake(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, events.FileName), 0o700))
	n := nodetest.New(t, node.WithDataDir(dir), node.WithEventRetention(100))
	err := n.Start(context.Background())
	require.Error(t, err)
	require.NotErrorIs(t, err, node.ErrConfig)
	require.ErrorContains(t, err, filepath.Join(dir, events.FileName))
}

// Close stops at once: clients are told 190 and dropped, and the admin
// API answers no more.
func TestNodeClose(t *testing.T) {
	n := nodetest.Start(t)
	c := testkit.Dial(t, n.Addr())
	c.Register(nodetest.Password, "dev-2")
	require.NoError(t, n.Close())
	c.ExpectClosed("190 " + protocol.ReasonServerShuttingDown.String())
	_, err := http.Get("http://" + n.AdminAddr() + "/readyz")
	require.Error(t, err)
	require.False(t, errors.Is(n.Close(), context.Canceled))
}

// A --cluster URL that cannot be dialled at all (it does not parse, its
// port is no port) ends the start at once as an ErrConfig that names no
// secret: nats.go's errors for them are net.Errors, like a server that
// does not answer, and the node waited for it for ever.
func TestNodeClusterURLThatCannotBeDialledIsAConfigMistake(t *testing.T) {
	for _, u := range []string{"nats://cliser:hunter2@127.0.0.1:99999", "nats://cliser:hun ter2@[::1", "nats://127.0.0.1:0x"} {
		n := nodetest.New(t, node.WithCluster(u, "n1"))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := n.Start(ctx)
		cancel()
		require.ErrorIs(t, err, node.ErrConfig, u)
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "%s: waited", u)
		assert.Contains(t, err.Error(), "cannot be dialled", u)
		assert.NotContains(t, err.Error(), "hunter2", u)
		assert.NotContains(t, err.Error(), "hun ter2", u)
	}
}

// Close while Start waits for NATS ends the wait: Close returns at once
// (it waited on Start's lock for as long as NATS stayed away), Start
// returns context.Canceled, the standby lets go of the admin address, and
// the node does not start again. A second Start meanwhile is refused at
// once, and takes nothing of the first's.
func TestNodeCloseWhileStartWaitsForNATS(t *testing.T) {
	adminAddr := testkit.FreeAddr(t)
	n := nodetest.New(t, node.WithCluster("nats://"+testkit.FreeAddr(t), "n1"), node.WithAdmin(adminAddr))
	started := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a Close that fails to end the wait fails, not hangs
	defer cancel()
	go func() { started <- n.Start(ctx) }()
	waitStandby(t, adminAddr)

	again := make(chan error, 1)
	go func() { again <- n.Start(ctx) }()
	require.ErrorIs(t, testkit.Recv(t, again, 5*time.Second, "a second Start waited for the first"), node.ErrStarted)

	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	require.NoError(t, testkit.Recv(t, closed, 5*time.Second, "Close waited for NATS"))
	require.ErrorIs(t, testkit.Recv(t, started, 5*time.Second, "Start went on waiting"), context.Canceled)
	_, err := http.Get("http://" + adminAddr + "/readyz")
	require.Error(t, err, "the standby still holds the admin address")
	require.ErrorIs(t, n.Start(context.Background()), node.ErrStarted)
}

// A node stopped before it ever started stays stopped: Start then says
// ErrStarted (Shutdown's doc) instead of running a node nobody will stop
// again (mutation audit: dropping Shutdown's mark survived every test).
func TestNodeShutdownBeforeStartKeepsItStopped(t *testing.T) {
	n := nodetest.New(t)
	require.NoError(t, n.Shutdown(context.Background()))
	require.ErrorIs(t, n.Start(context.Background()), node.ErrStarted)
}

// A cluster node's data dir (where a stop while NATS is away spills the
// events it could not publish) that is a file refuses the start at once,
// before any wait for NATS: found only by that stop, the events were
// lost (cluster audit); no mutation of ./node's tests noticed the check
// go (mutation audit).
func TestClusterDataDirThatIsAFileIsRefusedAtStart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	// No NATS at the URL: the refusal must come before the wait for it.
	n := nodetest.New(t, node.WithCluster("nats://"+testkit.FreeAddr(t), "n1"), node.WithDataDir(file),
		node.WithEventRetention(100))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := n.Start(ctx)
	require.ErrorIs(t, err, node.ErrConfig)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "waited for NATS")
	assert.ErrorContains(t, err, "is a file, not a directory")
}

// NATS refusing the node's credentials ends the start at once as an
// ErrConfig that says what to correct and shows no password: waiting
// would not mend it (mutation audit: the refusal's case in refusal()
// went without a test of ./node failing).
func TestClusterCredentialsRefusedAreAConfigMistake(t *testing.T) {
	addr := testkit.FreeAddr(t)
	testkit.NATSAuth(t, testkit.PortOf(t, addr), "cliser", "right-pw")
	n := nodetest.New(t, node.WithCluster("nats://cliser:wrong-pw@"+addr, "n1"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := n.Start(ctx)
	require.ErrorIs(t, err, node.ErrConfig)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "waited")
	assert.Contains(t, err.Error(), "NATS refused this node's credentials")
	assert.NotContains(t, err.Error(), "wrong-pw")
}

// waitStandby waits until the standby on adminAddr says the node waits
// for NATS.
func waitStandby(t *testing.T, adminAddr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + adminAddr + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), "waiting for NATS")
	}, 10*time.Second, 20*time.Millisecond, "the standby says the node waits for NATS")
}
