package reactor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

func startIdentity(t *testing.T, opts ...identity.Option) *identity.Service {
	t.Helper()
	ids := identity.New(opts...)
	require.NoError(t, ids.Start(context.Background()))
	t.Cleanup(func() { _ = ids.Close() })
	return ids
}

// With PROXY on, the ban is checked on the header's address, and "190
// banned" is still the first and only line.
func TestProxiedAddressBanIsTheFirstLine(t *testing.T) {
	ids := startIdentity(t)
	_, err := ids.AddBan(context.Background(), identity.KindNet, "203.0.113.0/24", "", 0)
	require.NoError(t, err)
	srv := startServer(t, WithProxyProtocol(true), WithIdentity(ids))
	hdr := func(ip string) string { return testkit.ProxyHeader(t, 2, ip, 1000) }
	c := srv.dial(t)
	c.Send(hdr("203.0.113.77") + "110 " + testPassword + "\n120 behind\n")
	c.ExpectClosed(closeLine(protocol.ReasonBanned))

	c = srv.dial(t)
	c.Send(hdr("198.51.100.1"))
	c.Register(testPassword, "behind")
}

// A wrong secret for an enrolled ID counts toward the per-IP ban like a
// wrong password.
func TestDeferredAuthFailuresCountTowardTheIPBan(t *testing.T) {
	ids := startIdentity(t)
	_, _, err := ids.Enroll(context.Background(), "dev", 0)
	require.NoError(t, err)
	srv := startServer(t, WithIdentity(ids), WithAuthFailLimit(2, time.Minute))
	for range 2 {
		c := srv.dial(t)
		c.Send("110 wrong\n120 dev\n")
		c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonAuthFailed))
	}
	srv.dial(t).ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))
}

// In the deferred check the secret is judged at the 120 answer: a
// connection opened before its address was refused gets "190 too many
// attempts" there too, the right secret included (limits audit).
func TestDeferredAuthBanRefusesConnectionsAlreadyOpen(t *testing.T) {
	ids := startIdentity(t)
	secret, _, err := ids.Enroll(context.Background(), "dev", 0)
	require.NoError(t, err)
	srv := startServer(t, WithIdentity(ids), WithAuthFailLimit(2, time.Minute))
	early := srv.dial(t)
	early.Send("110 " + secret + "\n")
	early.Expect("110 password")
	early.Expect("120 id") // any answer gets it: the pair is judged at 120
	for range 2 {
		c := srv.dial(t)
		c.Send("110 wrong\n120 dev\n")
		c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonAuthFailed))
	}
	early.Send("120 dev\n")
	early.ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))
}

// With --require-credentials the server needs no shared password.
func TestRequireCredentialsNeedsNoPassword(t *testing.T) {
	ids := startIdentity(t, identity.WithRequireCredentials(true))
	secret, _, err := ids.Enroll(context.Background(), "only", 0)
	require.NoError(t, err)
	srv := startServer(t, WithPasswords(nil), WithIdentity(ids))
	srv.dial(t).Register(secret, "only")
	_, err = New(srv.reg, WithPasswords(nil))
	require.ErrorIs(t, err, ErrNoPassword)
}

// In the deferred check an answer that is no password (over 256 bytes,
// or none) is refused at once, as without credentials: it got 120 id and
// failed at its 120 answer (found by the wire audit). It counts toward
// the per-IP ban as any wrong one.
func TestDeferredCheckRefusesAnAnswerThatIsNoPasswordAtOnce(t *testing.T) {
	ids := startIdentity(t)
	_, _, err := ids.Enroll(context.Background(), "dev", 0)
	require.NoError(t, err)
	srv := startServer(t, WithIdentity(ids), WithAuthFailLimit(2, time.Minute))
	for _, pw := range []string{strings.Repeat("p", protocol.MaxPassword+1), ""} {
		c := srv.dial(t)
		c.Send("110 " + pw + "\n")
		c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))
	}
	srv.dial(t).ExpectClosed(closeLine(protocol.ReasonTooManyAttempts))
}

// A handshake refused at its ID is logged with the ID it claimed: the
// line had only the address, and an operator asking why a device stays
// out searches by its ID. One refused before it named one keeps no cid.
func TestHandshakeFailedNamesTheClaimedID(t *testing.T) {
	ids := startIdentity(t)
	_, err := ids.AddBan(context.Background(), identity.KindCID, "outcast", "", 0)
	require.NoError(t, err)
	core, logs := observer.New(zap.InfoLevel)
	srv := startServer(t, WithIdentity(ids), WithLogger(zap.New(core)))
	c := srv.dial(t)
	c.Send("110 " + testPassword + "\n120 outcast\n")
	c.ExpectClosed("110 password", "120 id", closeLine(protocol.ReasonBanned))
	c = srv.dial(t)
	c.Send("110 wrong\n")
	c.ExpectClosed("110 password", closeLine(protocol.ReasonAuthFailed))

	eventually(t, func() bool { return logs.FilterMessage("handshake failed").Len() == 2 }, "both refusals logged")
	lines := logs.FilterMessage("handshake failed").All()
	require.Len(t, lines, 2, "each refusal logged once")
	byReason := map[string]map[string]any{}
	for _, l := range lines {
		byReason[l.ContextMap()["reason"].(string)] = l.ContextMap()
	}
	require.Contains(t, byReason, protocol.ReasonBanned.String())
	require.Equal(t, "outcast", byReason[protocol.ReasonBanned.String()]["cid"])
	require.Equal(t, "127.0.0.1", byReason[protocol.ReasonBanned.String()]["cip"])
	require.NotContains(t, byReason[protocol.ReasonAuthFailed.String()], "cid")
}
