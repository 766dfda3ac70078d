package harness

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// smallFullSoak is a soak of 50 clients with every feature on and a log
// of 100 events, which the churn fills in about a second.
func smallFullSoak() SoakSettings {
	s := DefaultSoak()
	s.Clients, s.Pool, s.EventRetention = 50, 10, 100
	s.Duration, s.ChurnRate, s.SampleEvery = 4*time.Second, 30, 250*time.Millisecond
	s.Load.Concurrency = 16
	s.Load.KeepAlive, s.Load.KeepAliveTimeout = 200*time.Millisecond, 3*time.Second
	return s
}

func runSoak(t *testing.T, s SoakSettings) *SoakResult {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs cliser serve")
	}
	res, err := Soak(testkit.Context(t, 2*time.Minute), s, Env{CliserBin: testkit.Binary(t), WorkDir: t.TempDir()})
	require.NoError(t, err)
	return res
}

// With every feature on, the churn runs on per-client credentials (every
// id enrolled, brand-new ones through the admin API and deleted after),
// under the server's flapping control, and the samples carry the event
// log's file, the webhook's lag and delivery, and the credentials; the
// receiver took every event, none dropped, no ban.
func TestSoakSmallWithEveryFeature(t *testing.T) {
	res := runSoak(t, smallFullSoak())

	assert.Empty(t, res.Errors, "unexpected errors")
	assert.Empty(t, res.Problems)
	assert.Equal(t, 0, res.Lost)
	assert.Equal(t, 50, res.Enrolled)
	for _, op := range []string{OpReconnect, OpTakeover, OpFresh} {
		assert.Positive(t, res.Ops[op], op)
	}
	last := res.Samples[len(res.Samples)-1]
	assert.Positive(t, last.EventsBytes, "events.db")
	assert.Greater(t, last.EventsNewest, int64(100), "past the retention")
	assert.Positive(t, last.WebhookDelivered)
	assert.InDelta(t, 50, last.Credentials, churnInFlight, "the enrolled ones, and the brand-new ones in flight")
	assert.EqualValues(t, 50, res.End.Credentials, "every brand-new id's credential deleted")
	assert.Zero(t, res.End.WebhookLag, "caught up at the end")
	assert.GreaterOrEqual(t, res.Verdict.EventsJudged, minJudged)
	assert.Positive(t, res.Verdict.EventsFirst)

	require.NotNil(t, res.Webhook)
	assert.EqualValues(t, res.End.EventsNewest, res.Webhook.NewestSeq)
	assert.Zero(t, res.Webhook.BadBodies)
	for _, typ := range []string{events.TypeConnected, events.TypeDisconnected, events.TypeCredentialCreated, events.TypeCredentialDeleted} {
		assert.Positive(t, res.Webhook.ByType[typ], typ)
	}
	assert.Zero(t, res.End.FlappingBans)
	assert.Zero(t, res.End.BansActive)
	assert.Positive(t, res.BusiestID)
	assert.Less(t, res.BusiestID, int64(flapLimit))

	var md bytes.Buffer
	require.NoError(t, res.Markdown(&md))
	assert.Contains(t, md.String(), "Features (`--features events,webhook,identity,flapping`)")
	assert.Contains(t, md.String(), "| webhook lag, events (judged) |")
	assert.Contains(t, md.String(), "Webhook receiver: ")
}

// A churn that re-registers its two pool ids far past the server's
// flapping limit gets them banned, and the soak says so: a problem that
// names the bans and the busiest id's count, and fails.
func TestSoakReportsFlappingBans(t *testing.T) {
	s := smallFullSoak()
	s.Features = []string{FeatureFlapping}
	s.Clients, s.Pool, s.Duration, s.ChurnRate = 12, 2, 3*time.Second, 40
	require.Greater(t, s.RegistrationsPerWindow(), float64(flapLimit))
	res := runSoak(t, s)

	assert.Positive(t, res.End.FlappingBans)
	assert.GreaterOrEqual(t, res.BusiestID, int64(flapLimit))
	require.NotEmpty(t, res.Problems)
	assert.Contains(t, res.Problems[0], "flapping bans: the busiest pool id registered")
	assert.False(t, res.OK())
}

func TestParseSoakFeatures(t *testing.T) {
	for in, want := range map[string][]string{
		"all":              AllSoakFeatures,
		"none":             nil,
		"flapping,events":  {FeatureEvents, FeatureFlapping},
		" identity ":       {FeatureIdentity},
		"webhook,events":   {FeatureEvents, FeatureWebhook},
		"events,flapping ": {FeatureEvents, FeatureFlapping},
	} {
		got, err := ParseSoakFeatures(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseSoakFeatures("events,bans")
	assert.EqualError(t, err, `--features: unknown feature "bans" (want all, none, or some of events,webhook,identity,flapping)`)
	_, err = ParseSoakFeatures("webhook")
	assert.EqualError(t, err, "--features: webhook needs events (it delivers the event log)")
}

// Without flapping control the pool is a tenth of the clients, at most
// 500; with it, half of them, so that 200 operations a second re-register
// each of 5,000 clients' pool ids 3.2 times a minute, not 16.
func TestSoakPoolFollowsFlapping(t *testing.T) {
	s := DefaultSoak()
	s.Clients = 5000
	full := s.withDefaults()
	assert.Equal(t, 2500, full.Pool)
	assert.InDelta(t, 3.2, full.RegistrationsPerWindow(), 1e-9)
	s.Features = []string{FeatureEvents}
	plain := s.withDefaults()
	assert.Equal(t, 500, plain.Pool)
	assert.InDelta(t, 16, plain.RegistrationsPerWindow(), 1e-9)
}
