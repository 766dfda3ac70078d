package harness

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// cliser+identity+events, a whole short run with the load in worker
// processes (the secrets' key crosses their pipe): every client registers
// with its own secret, the bursts too, the webhook delivers, and the start
// checked that an enrolled client ID is refused the shared password.
func TestRunCliserWithACredentialPerClient(t *testing.T) {
	env := Env{WorkDir: t.TempDir(), CliserBin: testkit.Binary(t), WorkerExe: testkit.BenchBinary(t)}
	set := tiny()
	set.PerWorker = 30 // two load processes: the second's IDs start at 30
	res, err := Run(runCtx(t), KindCliserTrust, set, env)
	require.NoError(t, err)
	assert.Empty(t, res.Problems)
	assert.Empty(t, res.Errors, "a client answering anything but its own secret gets 190 auth failed")
	assert.Equal(t, 2, res.Workers)
	assert.EqualValues(t, 50, res.Handshakes)
	assert.EqualValues(t, 60, res.Burst.Handshakes)
	assert.Positive(t, res.Idle.KeepAlives)
	require.NotNil(t, res.ServerRTT)
	assert.Positive(t, res.ServerRTT.Count)
	assert.Equal(t, 50, res.Credentials, "the stages' 50 client IDs; the bursts reuse the first 30")
	assert.Positive(t, res.StartRSS, "read before any client: the credentials' memory, which the slope leaves out")
	// 50 credentials take a page of records and a page of index.
	assert.EqualValues(t, 2*os.Getpagesize(), res.CredentialBytes, "the server's own count of its credentials' resident bytes, read at the plateau")
	assert.Positive(t, res.WebhookRequests, "the webhook delivered")
}

// The start's check fails a cliser that holds no credentials: the variant
// cannot quietly measure the shared password.
func TestPerClientAuthCheckRefusesASharedPasswordServer(t *testing.T) {
	srv, o := startTestServer(t, KindCliserEvents, 10)
	err := checkPerClientAuth(runCtx(t), srv.(*cliserEvents).cliserProc, o)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "holds 0 credentials, want 10")
}

// cliser+events, the reference of the credentials' memory, starts as
// cliser+identity+events does: one /metrics scrape and one refused
// handshake before its start RSS is read, so that the two start RSSes
// differ by the credentials alone.
func TestCliserEventsStartsAsTheCredentialsVariantDoes(t *testing.T) {
	srv, _ := startTestServer(t, KindCliserEvents, 0)
	pg, err := scrapeProm(runCtx(t), srv.(*cliserEvents).admin.Base()+"/metrics")
	require.NoError(t, err)
	refusals := 0.0
	for _, m := range pg[admin.MetricHandshakes].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "result" && l.GetValue() == "auth failed" {
				refusals += m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, 1.0, refusals, "the refused handshake of the start")
}
