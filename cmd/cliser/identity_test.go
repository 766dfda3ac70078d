package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
)

// Fleet identity (IDENTITY.md) against the real `cliser serve` binary:
// every check talks TCP to the protocol port and HTTP to the admin API.

const idPassword = "fleet-s3cret"

type idServer struct {
	p   *testkit.Served
	api *admin.Client
}

func startIDServer(t *testing.T, dataDir string, env []string, extra ...string) *idServer {
	t.Helper()
	if env == nil {
		env = []string{"CLISER_PASSWORD=" + idPassword}
	}
	env = append(env, "CLISER_ADMIN_TOKEN=")
	args := append([]string{"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dataDir,
		"--keepalive-interval", "200ms", "--keepalive-timeout", "5s"}, extra...)
	p := testkit.Serve(t, env, args...)
	return &idServer{p: p, api: apiOf(t, p)}
}

func (s *idServer) enroll(t *testing.T, cid, grace string) string {
	t.Helper()
	c, err := s.api.CreateCredential(context.Background(), cid, grace)
	require.NoError(t, err)
	require.Len(t, c.Secret, 43, "32 random bytes, base64url without padding")
	return c.Secret
}

func (s *idServer) ban(t *testing.T, kind, value, duration string) admin.Ban {
	t.Helper()
	b, err := s.api.CreateBan(context.Background(), admin.BanRequest{Kind: kind, Value: value, Reason: "test", Duration: duration})
	require.NoError(t, err)
	return b
}

// startLive registers cid from source and echoes its keep-alives from a
// goroutine (an echoer, as the fd-budget tests' healthy clients).
func startLive(t *testing.T, addr, source, secret, cid string) *echoer {
	t.Helper()
	c := testkit.DialFrom(t, addr, source)
	c.Timeout = 10 * time.Second
	c.Register(secret, cid)
	return startEchoer(c)
}

// refused checks a whole handshake of cid with secret ends with want.
func refused(t *testing.T, addr, source, secret, cid, want string) {
	t.Helper()
	c := testkit.DialFrom(t, addr, source)
	c.Send("110 " + secret + "\n120 " + cid + "\n")
	c.ExpectClosed("110 password", "120 id", want)
}

func TestIdentityCredentialBindsSecretToID(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	// No credential yet: the seed's rule, the password checked alone.
	c := testkit.Dial(t, s.p.Addr)
	c.Send("110 wrong\n")
	c.ExpectClosed("110 password", "190 auth failed")

	secret := s.enroll(t, "pos-1", "")
	refused(t, s.p.Addr, "", idPassword, "pos-1", "190 auth failed") // the shared password no longer admits it
	refused(t, s.p.Addr, "", secret, "pos-2", "190 auth failed")     // nor its secret another ID
	refused(t, s.p.Addr, "", "wrong", "pos-2", "190 auth failed")    // the deferred check: same answer for either half
	opsConnect(t, s.p.Addr, secret, "pos-1")
	opsConnect(t, s.p.Addr, idPassword, "pos-2") // an ID without credential: the shared password

	got, err := s.api.GetCredential(context.Background(), "pos-1")
	require.NoError(t, err)
	assert.Empty(t, got.Secret)
	list, err := s.api.ListCredentials(context.Background(), 0, "")
	require.NoError(t, err)
	require.Len(t, list.Credentials, 1)
	assert.Empty(t, list.Credentials[0].Secret)
	_, err = s.api.GetCredential(context.Background(), "pos-2")
	assertStatus(t, err, http.StatusNotFound)
	assert.NotContains(t, s.p.LogText(), secret, "a secret reached the log")
	assert.NotContains(t, s.p.LogText(), idPassword)
}

func assertStatus(t *testing.T, err error, status int) {
	t.Helper()
	var se *admin.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, status, se.Status, se.Message)
}

// 10,000 connections claim a live client's ID with a wrong secret while it
// echoes keep-alives: it is never dropped and keeps its sid. An
// authenticated registration still takes over.
func TestIdentityImpostorNeverDisturbsLiveSession(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil, "--auth-fail-limit", "0", "--max-handshakes-per-ip", "0")
	secret := s.enroll(t, "victim", "")
	live := startLive(t, s.p.Addr, "", secret, "victim")
	before, err := s.api.Get(context.Background(), "victim")
	require.NoError(t, err)

	const attempts, workers = 10000, 8
	var next, refusedOK atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 9, byte(w+1))}}
			for next.Add(1) <= attempts {
				conn, err := d.Dial("tcp", s.p.Addr)
				if err != nil {
					continue
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = conn.Write([]byte("110 not-the-secret\n120 victim\n"))
				all, _ := io.ReadAll(conn)
				_ = conn.Close()
				if string(all) == "110 password\n120 id\n190 auth failed\n" {
					refusedOK.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, attempts, refusedOK.Load(), "every impostor gets 110, 120, 190 auth failed")
	assert.Empty(t, live.ended(0), "the live session was disturbed")
	after, err := s.api.Get(context.Background(), "victim")
	require.NoError(t, err)
	assert.True(t, after.CStatus)
	assert.Equal(t, before.SID, after.SID, "the live session was replaced")
	assert.Equal(t, before.ConnectedAt, after.ConnectedAt)
	echoes := live.echoes.Load()
	require.Eventually(t, func() bool { return live.echoes.Load() > echoes+2 }, waitFor, tick, "keep-alives stopped")

	// The real device (the secret) may still take over its own ID.
	opsConnect(t, s.p.Addr, secret, "victim")
	assert.Equal(t, "190 replaced", live.ended(waitFor))
}

func TestIdentityRotation(t *testing.T) {
	// Flapping off: the poll below registers the ID many times.
	s := startIDServer(t, t.TempDir(), nil, "--flap-limit", "0")
	ctx := context.Background()
	old := s.enroll(t, "rot-1", "")
	fresh := s.enroll(t, "rot-1", "") // no grace: the old secret stops at once
	refused(t, s.p.Addr, "", old, "rot-1", "190 auth failed")
	opsConnect(t, s.p.Addr, fresh, "rot-1")

	graced, err := s.api.CreateCredential(ctx, "rot-1", "2s")
	require.NoError(t, err)
	require.NotNil(t, graced.PreviousValidUntil)
	opsConnect(t, s.p.Addr, fresh, "rot-1")         // the previous one, during its grace
	opsConnect(t, s.p.Addr, graced.Secret, "rot-1") // and the new one
	refused(t, s.p.Addr, "", old, "rot-1", "190 auth failed")
	require.Eventually(t, func() bool {
		c := testkit.Dial(t, s.p.Addr)
		c.Send("110 " + fresh + "\n120 rot-1\n")
		c.Expect("110 password")
		c.Expect("120 id")
		return c.ReadLine() == "190 auth failed"
	}, waitFor, 100*time.Millisecond, "the grace period never ended")
	got, err := s.api.GetCredential(ctx, "rot-1")
	require.NoError(t, err)
	assert.Nil(t, got.PreviousValidUntil)
	opsConnect(t, s.p.Addr, graced.Secret, "rot-1")
}

func TestIdentityDeleteRevokesWithinASecond(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	secret := s.enroll(t, "rev-1", "")
	live := startLive(t, s.p.Addr, "", secret, "rev-1")
	base := s.p.AdminURL(t)
	assert.Equal(t, 1.0, metricOf(t, base, "cliser_credentials"))
	start := time.Now()
	require.NoError(t, s.api.DeleteCredential(context.Background(), "rev-1"))
	assert.Equal(t, "190 revoked", live.ended(time.Second))
	t.Logf("revoked after %v", time.Since(start))
	assert.Equal(t, 0.0, metricOf(t, base, "cliser_credentials"))
	assert.Eventually(t, func() bool { return metricOf(t, base, `cliser_disconnects_total{reason="revoked"}`) == 1 },
		waitFor, tick, "the revoked session's end counted (once its close is done)")
	assertStatus(t, s.api.DeleteCredential(context.Background(), "rev-1"), http.StatusNotFound)
	// Without its credential the ID falls back to the shared password (and
	// with no credential left, the password is checked alone again).
	c := testkit.Dial(t, s.p.Addr)
	c.Send("110 " + secret + "\n120 rev-1\n")
	c.ExpectClosed("110 password", "190 auth failed")
	opsConnect(t, s.p.Addr, idPassword, "rev-1")
}

func TestIdentityBanClientID(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	live := startLive(t, s.p.Addr, "", idPassword, "bad-1")
	s.ban(t, "cid", "bad-1", "")
	assert.Equal(t, "190 banned", live.ended(time.Second))
	refused(t, s.p.Addr, "", idPassword, "bad-1", "190 banned")
	assert.Eventually(t, func() bool { return metricOf(t, s.p.AdminURL(t), `cliser_handshakes_total{result="banned"}`) == 1 },
		waitFor, tick, "the handshake refused at its ID counted")
	opsConnect(t, s.p.Addr, idPassword, "good-1")
	require.NoError(t, s.api.DeleteBan(context.Background(), "cid", "bad-1"))
	opsConnect(t, s.p.Addr, idPassword, "bad-1")
}

func TestIdentityBanIPAndNetwork(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	ctx := context.Background()
	liveIP := startLive(t, s.p.Addr, "127.0.5.7", idPassword, "ip-1")
	liveNet := startLive(t, s.p.Addr, "127.0.6.9", idPassword, "net-1")
	other := startLive(t, s.p.Addr, "127.0.7.1", idPassword, "other-1")

	s.ban(t, "ip", "127.0.5.7", "")
	assert.Equal(t, "190 banned", liveIP.ended(time.Second))
	b := s.ban(t, "net", "127.0.6.200/24", "") // stored as its network
	assert.Equal(t, "127.0.6.0/24", b.Value)
	assert.Equal(t, "190 banned", liveNet.ended(time.Second))

	for _, src := range []string{"127.0.5.7", "127.0.6.1", "127.0.6.254"} {
		c := testkit.DialFrom(t, s.p.Addr, src)
		c.ExpectClosed("190 banned") // the first and only line
	}
	opsConnect(t, s.p.Addr, idPassword, "from-elsewhere")
	assert.Empty(t, other.ended(0))

	bans, err := s.api.ListBans(ctx, "net", 0, "")
	require.NoError(t, err)
	require.Len(t, bans.Bans, 1)
	assert.Equal(t, "operator", bans.Bans[0].By)
	require.NoError(t, s.api.DeleteBan(ctx, "net", "127.0.6.0/24")) // path-escaped by the client
	assertStatus(t, s.api.DeleteBan(ctx, "net", "127.0.6.0/24"), http.StatusNotFound)
	testkit.DialFrom(t, s.p.Addr, "127.0.6.1").Expect("110 password")

	// The escaped form on the wire, as IDENTITY.md writes it.
	s.ban(t, "net", "127.0.8.0/24", "")
	status, body := testkit.HTTPDo(t, http.MethodDelete, s.p.AdminURL(t)+"/v1/bans/net/127.0.8.0%2F24", "", nil)
	assert.Equal(t, http.StatusNoContent, status, body)

	base := s.p.AdminURL(t)
	assert.Equal(t, 1.0, metricOf(t, base, `cliser_bans_active{kind="ip"}`))
	assert.Equal(t, 3.0, metricOf(t, base, `cliser_accept_rejections_total{reason="banned"}`))
	assert.Equal(t, 2.0, metricOf(t, base, `cliser_disconnects_total{reason="banned"}`))
}

// A network ban lifted with the CIDR typed as it is listed (the / not
// escaped, as curl sends it) is the same ban: 204, then 404, as the escaped
// form; IPv6 too. A session from that network is admitted again.
func TestIdentityBanNetDeletedUnescaped(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	base := s.p.AdminURL(t)
	s.ban(t, "net", "127.0.9.0/24", "")
	s.ban(t, "net", "2001:db8::/32", "")
	testkit.DialFrom(t, s.p.Addr, "127.0.9.1").ExpectClosed("190 banned")

	for _, path := range []string{"/v1/bans/net/127.0.9.0/24", "/v1/bans/net/2001:db8::/32"} {
		status, body := testkit.HTTPDo(t, http.MethodDelete, base+path, "", nil)
		assert.Equal(t, http.StatusNoContent, status, "%s: %s", path, body)
		status, body = testkit.HTTPDo(t, http.MethodDelete, base+path, "", nil)
		assert.Equal(t, http.StatusNotFound, status, "%s: %s", path, body)
		assert.Contains(t, body, "no ban net", path)
	}
	testkit.DialFrom(t, s.p.Addr, "127.0.9.1").Expect("110 password")
	status, body := testkit.HTTPDo(t, http.MethodGet, base+"/v1/bans/net/127.0.9.0/24", "", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, status, body)
}

func TestIdentityBanExpires(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	b := s.ban(t, "cid", "temp-1", "1s")
	require.NotNil(t, b.Until)
	refused(t, s.p.Addr, "", idPassword, "temp-1", "190 banned")
	require.Eventually(t, func() bool {
		l, err := s.api.ListBans(context.Background(), "", 0, "")
		return err == nil && len(l.Bans) == 0
	}, waitFor, 20*time.Millisecond, "the expired ban is still listed")
	opsConnect(t, s.p.Addr, idPassword, "temp-1")
}

// A ban's until and a grace's previous_valid_until are the API's whole
// seconds rounded up: at the time shown the ban is over and the previous
// secret refused. Cut down, they read up to a second early, and a tool
// that retried at until was still banned (found by the identity audit).
func TestIdentityDeadlinesShownAreNotBeforeTheirEnd(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil, "--flap-limit", "0")
	atShown := func(shown *string) {
		t.Helper()
		require.NotNil(t, shown)
		end, err := time.Parse(time.RFC3339, *shown)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return !time.Now().Before(end) }, 5*time.Second, 5*time.Millisecond)
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1300 * time.Millisecond))) // mid-second: cut down would show a time before the end
	b := s.ban(t, "cid", "until-1", "1500ms")
	atShown(b.Until)
	opsConnect(t, s.p.Addr, idPassword, "until-1")

	old := s.enroll(t, "grace-1", "")
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1300 * time.Millisecond)))
	c, err := s.api.CreateCredential(context.Background(), "grace-1", "1500ms")
	require.NoError(t, err)
	atShown(c.PreviousValidUntil)
	refused(t, s.p.Addr, "", old, "grace-1", "190 auth failed")
}

// Two real agents configured with one ID fight over it until the flapping
// ban: then one keeps the ID and the other is refused.
func TestIdentityFlappingBanStopsTwoAgentsSharingAnID(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil, "--flap-limit", "6", "--flap-window", "1m", "--flap-ban", "1m")
	env := []string{"CLISER_PASSWORD=" + idPassword}
	args := []string{"--server", s.p.Addr, "--id", "twin", "--backoff-min", "20ms", "--backoff-max", "300ms", "--log-format", "console"}
	a := startAgent(t, env, args...)
	b := startAgent(t, env, args...)
	ctx := context.Background()
	require.Eventually(t, func() bool {
		l, err := s.api.ListBans(ctx, "cid", 0, "")
		return err == nil && len(l.Bans) == 1 && l.Bans[0].By == "flapping"
	}, 30*time.Second, 20*time.Millisecond, "no flapping ban\nagent a:\n%s\nagent b:\n%s", a.LogText(), b.LogText())
	bans, err := s.api.ListBans(ctx, "cid", 0, "")
	require.NoError(t, err)
	assert.Equal(t, "flapping", bans.Bans[0].Reason)
	assert.NotNil(t, bans.Bans[0].Until)

	// One of them holds the ID, and keeps it: the same session for 3 s.
	var rec admin.ClientRecord
	require.Eventually(t, func() bool {
		rec, err = s.api.Get(ctx, "twin")
		return err == nil && rec.CStatus
	}, waitFor, tick)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		now, err := s.api.Get(ctx, "twin")
		require.NoError(t, err)
		require.True(t, now.CStatus, "the ID lost its session")
		require.Equal(t, rec.ConnectedAt, now.ConnectedAt, "the ID changed hands during the ban")
		require.Equal(t, rec.CPort, now.CPort)
		time.Sleep(50 * time.Millisecond)
	}
	// The refused agent is told.
	testkit.WaitLog(t, waitFor, func() string { return a.LogText() + b.LogText() }, "banned")
	assert.Equal(t, 1.0, metricOf(t, s.p.AdminURL(t), "cliser_flapping_bans_total"))
}

func TestIdentityPersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	s := startIDServer(t, dir, nil)
	secret := s.enroll(t, "keep-1", "")
	s.ban(t, "ip", "127.0.4.4", "")
	s.ban(t, "cid", "gone-1", "1h")
	require.Equal(t, 0, s.p.Stop(t))

	s2 := startIDServer(t, dir, nil)
	opsConnect(t, s2.p.Addr, secret, "keep-1")
	refused(t, s2.p.Addr, "", idPassword, "keep-1", "190 auth failed")
	refused(t, s2.p.Addr, "", idPassword, "gone-1", "190 banned")
	testkit.DialFrom(t, s2.p.Addr, "127.0.4.4").ExpectClosed("190 banned")
	l, err := s2.api.ListBans(context.Background(), "", 0, "")
	require.NoError(t, err)
	assert.Len(t, l.Bans, 2)
}

func TestIdentityRequireCredentials(t *testing.T) {
	// No shared password at all: the server starts, and only enrolled IDs get in.
	s := startIDServer(t, t.TempDir(), []string{"CLISER_PASSWORD="}, "--require-credentials")
	c := testkit.Dial(t, s.p.Addr)
	c.Send("110 anything\n120 stranger\n")
	c.ExpectClosed("110 password", "120 id", "190 auth failed")
	secret := s.enroll(t, "member-1", "")
	opsConnect(t, s.p.Addr, secret, "member-1")
	require.NoError(t, s.api.Probe(context.Background(), "/readyz"))

	// With a shared password too, an ID without credential is still refused.
	s2 := startIDServer(t, t.TempDir(), nil, "--require-credentials")
	refused(t, s2.p.Addr, "", idPassword, "stranger", "190 auth failed")
}

func TestIdentityCLI(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	base := s.p.AdminURL(t)
	out, _, err := runCLI(t, "credentials", "add", "cli-1", "cli-2", "--admin", base, "-o", "json")
	require.NoError(t, err)
	assert.Contains(t, out, `"secret"`)
	out, _, err = runCLI(t, "credentials", "list", "--admin", base)
	require.NoError(t, err)
	assert.Contains(t, out, "cli-1")
	assert.NotContains(t, out, "secret")
	// -o json is the API's shape, {"credentials": [...]}, as bans list's is.
	out, _, err = runCLI(t, "credentials", "list", "--admin", base, "-o", "json")
	require.NoError(t, err)
	assert.Len(t, decodeJSON[admin.CredentialList](t, out).Credentials, 2)
	assert.True(t, strings.HasPrefix(out, "{"), out)
	out, _, err = runCLI(t, "credentials", "rm", "cli-1", "--admin", base, "-o", "json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"cid": "cli-1", "deleted": true}`, out, "-o json says what it did, as kick's does")
	_, _, err = runCLI(t, "credentials", "rm", "cli-1", "--admin", base)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	// Two failures are two lines, each cliser's (the second had no prefix).
	out, code := testkit.Run(t, testkit.Environ([]string{"CLISER_ADMIN"}), "credentials", "rm", "gone-1", "gone-2", "--admin", base)
	assert.Equal(t, 1, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.True(t, strings.HasPrefix(lines[0], "cliser: gone-1: "), out)
	assert.True(t, strings.HasPrefix(lines[1], "cliser: gone-2: "), out)
	// A 404 says what is missing, as "no client X" does; it said
	// "admin API: ... (HTTP 404)" (docs audit).
	assert.Equal(t, `cliser: gone-1: no credential for "gone-1"`, lines[0])
	_, _, err = runCLI(t, "bans", "rm", "cid", "nobody", "--admin", base)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Equal(t, "no ban cid nobody", err.Error())

	out, stderr, err := runCLI(t, "bans", "add", "net", "10.9.0.0/16", "--reason", "lab", "--duration", "1h", "--admin", base)
	require.NoError(t, err)
	assert.Contains(t, out, "10.9.0.0/16")
	assert.Empty(t, stderr)
	// A whole family banned, typed with host bits: made, and said what it does.
	for _, net := range []struct{ typed, kept, family string }{{"10.1.2.3/0", "0.0.0.0/0", "IPv4"}, {"::/0", "::/0", "IPv6"}} {
		out, stderr, err = runCLI(t, "bans", "add", "net", net.typed, "--admin", base)
		require.NoError(t, err)
		assert.Contains(t, out, net.kept)
		assert.Contains(t, stderr, "net "+net.kept+" covers every "+net.family+" address")
		assert.Contains(t, stderr, "until `cliser bans rm net "+net.kept+"`")
		_, _, err = runCLI(t, "bans", "rm", "net", net.kept, "--admin", base)
		require.NoError(t, err)
	}
	// With a duration, the note says when it ends (it said "until `cliser
	// bans rm`" alone: identity audit).
	out, stderr, err = runCLI(t, "bans", "add", "net", "0.0.0.0/0", "--duration", "1h", "-o", "json", "--admin", base)
	require.NoError(t, err)
	var timed admin.Ban
	require.NoError(t, json.Unmarshal([]byte(out), &timed))
	require.NotNil(t, timed.Until)
	assert.Contains(t, stderr, "closed, until "+*timed.Until+" (or `cliser bans rm net 0.0.0.0/0`)")
	_, _, err = runCLI(t, "bans", "rm", "net", "0.0.0.0/0", "--admin", base)
	require.NoError(t, err)
	out, _, err = runCLI(t, "bans", "list", "--admin", base)
	require.NoError(t, err)
	assert.Contains(t, out, "lab")
	// Typed with host bits, named as it is kept and listed.
	out, _, err = runCLI(t, "bans", "rm", "net", "10.9.1.2/16", "--admin", base, "-o", "json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind": "net", "value": "10.9.0.0/16", "lifted": true}`, out)
	runCLI(t, "bans", "add", "ip", "::ffff:10.9.9.9", "--admin", base)
	out, _, err = runCLI(t, "bans", "rm", "ip", "::ffff:10.9.9.9", "--admin", base)
	require.NoError(t, err)
	assert.Equal(t, "ban ip 10.9.9.9 lifted\n", out)

	for _, args := range [][]string{
		{"bans", "add", "host", "x"},
		{"bans", "add", "ip", "300.1.1.1"},
		{"bans", "add", "ip"},
		{"bans", "rm", "net", "10.0.0.0/99"},
		{"credentials", "add"},
		{"credentials", "add", "x", "--grace", "-1h"},
		{"bans", "list", "--kind", "host"},
	} {
		_, _, err := runCLI(t, append(args, "--admin", base)...)
		require.Error(t, err, "%v", args)
		assert.Equal(t, 2, exitCode(err), "%v: %v", args, err)
	}
}

// A ban's reason is free text that anyone with the admin API can write.
// `cliser bans list` printed it raw: an escape sequence in it ran in the
// operator's terminal (here: set the window title, turn the text red,
// clear the screen) and a tab shifted the columns. Now such a reason is
// shown quoted, its control characters as escapes; -o json keeps the
// text as it is.
func TestBansListShowsControlCharactersEscaped(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	base := s.p.AdminURL(t)
	const hostile = "a\x1b]0;pwned\x07\x1b[31mred\x1b[2J\tcol\u202egnp.exe"
	_, err := s.api.CreateBan(context.Background(), admin.BanRequest{Kind: "cid", Value: "term-1", Reason: hostile})
	require.NoError(t, err)
	_, err = s.api.CreateBan(context.Background(), admin.BanRequest{Kind: "cid", Value: "term-2", Reason: "plain text, no quotes"})
	require.NoError(t, err)

	out, _, err := runCLI(t, "bans", "list", "--admin", base)
	require.NoError(t, err)
	assert.NotContains(t, out, "\x1b", "no escape byte reaches the terminal")
	assert.NotContains(t, out, "\u202e", "no bidi override")
	assert.Contains(t, out, strconv.Quote(hostile), "the reason shown quoted, with escapes")
	assert.Contains(t, out, " plain text, no quotes\n", "a plain reason as it is")

	out, _, err = runCLI(t, "bans", "list", "--admin", base, "-o", "json")
	require.NoError(t, err)
	var got admin.BanList
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Bans, 2)
	assert.Equal(t, hostile, got.Bans[0].Reason, "JSON keeps the text")
}

func TestIdentityAdminErrors(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	base := s.p.AdminURL(t)
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/v1/bans", `{"kind":"ip","value":"nope"}`, 400},
		{"POST", "/v1/bans", `{"kind":"ip","value":"1.2.3.4","duration":"-1h"}`, 400},
		{"POST", "/v1/bans", `{"kind":"ip","value":"1.2.3.4","color":"red"}`, 400},
		{"POST", "/v1/bans", ``, 400},
		{"POST", "/v1/credentials/bad%20id", ``, 400},
		{"GET", "/v1/credentials/bad%20id", ``, 404}, // no credential can have it
		{"DELETE", "/v1/credentials/bad%20id", ``, 404},
		{"POST", "/v1/credentials/x", `{"grace":"soon"}`, 400},
		{"GET", "/v1/credentials?limit=0", ``, 400},
		{"GET", "/v1/credentials?cursor=!!", ``, 400},
		{"GET", "/v1/bans?kind=host", ``, 400},
		{"GET", "/v1/bans?cursor=bm9wZQ", ``, 400},
		{"DELETE", "/v1/bans/ip/1.2.3.4", ``, 404},
		{"PUT", "/v1/bans", ``, 405},
	} {
		status, body := testkit.HTTPDo(t, tc.method, base+tc.path, tc.body, nil)
		assert.Equal(t, tc.status, status, "%s %s: %s", tc.method, tc.path, body)
		assert.Contains(t, body, `"error"`, "%s %s", tc.method, tc.path)
	}
}

// Paging follows the clients' rules: limit and an opaque cursor.
func TestIdentityListsPage(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	ctx := context.Background()
	for i := range 5 {
		s.enroll(t, fmt.Sprintf("page-%d", i), "")
		s.ban(t, "ip", fmt.Sprintf("192.0.2.%d", i+1), "")
	}
	seen, cursor := []string{}, ""
	for {
		p, err := s.api.ListCredentials(ctx, 2, cursor)
		require.NoError(t, err)
		for _, c := range p.Credentials {
			seen = append(seen, c.CID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	assert.Equal(t, []string{"page-0", "page-1", "page-2", "page-3", "page-4"}, seen)
	seen, cursor = []string{}, ""
	for {
		p, err := s.api.ListBans(ctx, "ip", 2, cursor)
		require.NoError(t, err)
		for _, b := range p.Bans {
			seen = append(seen, b.Value)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	assert.Len(t, seen, 5)

	// ?prefix= keeps the IDs that start with it, as on /v1/clients; an
	// ID is the first of its own prefix, which is how the dashboard asks
	// whether a client has a credential without a 404.
	s.enroll(t, "page-10", "")
	for prefix, want := range map[string][]string{
		"page-1": {"page-1", "page-10"}, "page-4": {"page-4"}, "other": {}, "": nil,
	} {
		status, body := testkit.HTTPDo(t, "GET", s.p.AdminURL(t)+"/v1/credentials?prefix="+prefix, "", nil)
		require.Equal(t, 200, status, body)
		got := decodeJSON[admin.CredentialList](t, body)
		cids := []string{}
		for _, c := range got.Credentials {
			cids = append(cids, c.CID)
		}
		if want == nil {
			assert.Len(t, cids, 6, "no prefix: all")
			continue
		}
		assert.Equal(t, want, cids, "prefix %q", prefix)
	}
	status, body := testkit.HTTPDo(t, "GET", s.p.AdminURL(t)+"/v1/credentials?prefix="+strings.Repeat("p", 65), "", nil)
	assert.Equal(t, 400, status, body)
}

// The JSON shapes are IDENTITY.md's, field for field.
func TestIdentityAPIShapes(t *testing.T) {
	s := startIDServer(t, t.TempDir(), nil)
	base := s.p.AdminURL(t)
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		status, raw := testkit.HTTPDo(t, method, base+path, body, nil)
		require.Equal(t, want, status, raw)
		if raw == "" {
			return map[string]any{}
		}
		return decodeJSON[map[string]any](t, raw)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	created := call("POST", "/v1/credentials/shape-1", "", http.StatusCreated)
	assert.Equal(t, []string{"cid", "created_at", "previous_valid_until", "secret"}, keys(created))
	assert.Nil(t, created["previous_valid_until"])
	assert.True(t, strings.HasSuffix(created["created_at"].(string), "Z"))
	rotated := call("POST", "/v1/credentials/shape-1", `{"grace": "24h"}`, http.StatusCreated)
	assert.NotNil(t, rotated["previous_valid_until"])
	list := call("GET", "/v1/credentials", "", http.StatusOK)
	assert.Equal(t, []string{"credentials", "next"}, keys(list))
	one := call("GET", "/v1/credentials/shape-1", "", http.StatusOK)
	assert.Equal(t, []string{"cid", "created_at", "previous_valid_until"}, keys(one))
	call("GET", "/v1/credentials/nobody", "", http.StatusNotFound)

	ban := call("POST", "/v1/bans", `{"kind": "ip", "value": "203.0.113.9", "reason": "r", "duration": "1h"}`, http.StatusCreated)
	assert.Equal(t, []string{"at", "by", "kind", "reason", "until", "value"}, keys(ban))
	assert.Equal(t, "operator", ban["by"])
	forever := call("POST", "/v1/bans", `{"kind": "cid", "value": "x-1"}`, http.StatusCreated)
	assert.Nil(t, forever["until"])
	bans := call("GET", "/v1/bans?kind=ip", "", http.StatusOK)
	assert.Equal(t, []string{"bans", "next"}, keys(bans))
	assert.Len(t, bans["bans"], 1)
	call("DELETE", "/v1/credentials/shape-1", "", http.StatusNoContent)
	call("DELETE", "/v1/bans/cid/x-1", "", http.StatusNoContent)
}

// A secret that could not be printed (stdout a full disk) is lost with
// its credential made: the error says so and what to run, not only the
// write's own words, which read as if nothing had been done while the ID
// was from then on refused with the shared password.
func TestCredentialsAddSaysASecretNotPrintedIsLost(t *testing.T) {
	srv := startOpsServer(t, "")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	for _, output := range []string{"table", "json"} {
		root := newRootCmd()
		var errb strings.Builder
		root.SetOut(full)
		root.SetErr(&errb)
		cid := "lost-secret-" + output
		root.SetArgs([]string{"credentials", "add", cid, "--admin", srv.admin, "-o", output})
		err := root.ExecuteContext(context.Background())
		require.Error(t, err, output)
		assert.ErrorContains(t, err, "no space left on device", output)
		assert.ErrorContains(t, err, "credentials created for "+cid+", but their secrets could not be printed", output)
		assert.ErrorContains(t, err, "run `cliser credentials add "+cid+"` again", output)
		list, _, lerr := runCLI(t, "credentials", "list", "--admin", srv.admin)
		require.NoError(t, lerr)
		assert.Contains(t, list, cid, "the credential was made: the message must not read as if it were not")
	}
}

// A command that did its work and could not print it fails: `credentials
// rm` into a full disk exited 0, its confirmation lost unsaid.
func TestOutputThatCannotBeWrittenFails(t *testing.T) {
	srv := startOpsServer(t, "")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	_, _, err = runCLI(t, "credentials", "add", "rm-unprinted", "--admin", srv.admin)
	require.NoError(t, err)
	root := newRootCmd()
	root.SetErr(io.Discard)
	root.SetArgs([]string{"credentials", "rm", "rm-unprinted", "--admin", srv.admin})
	err = execute(root, full)
	require.Error(t, err, "the removal's line was not written")
	assert.ErrorContains(t, err, "done, but its output could not be written")
	assert.ErrorContains(t, err, "no space left on device")
	assert.Equal(t, 1, exitCode(err))
}

// Into a pipe whose reader quit, a command that did its work says so and
// exits 1: `credentials add` was ended by SIGPIPE unsaid (exit 141), the
// credentials made and their secrets lost (identity audit). A command
// that only reads keeps Go's default: it ends by the signal, quietly.
func TestCommandsThatDoWorkSayAClosedPipe(t *testing.T) {
	srv := startOpsServer(t, "")
	run := func(args ...string) (syscall.WaitStatus, string) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		require.NoError(t, r.Close()) // the reader quit
		defer w.Close()
		cmd := exec.Command(testkit.Binary(t), append(args, "--admin", srv.admin)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = w, &stderr
		err = cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%v: %s", args, stderr.String())
		return ee.Sys().(syscall.WaitStatus), stderr.String()
	}
	ws, stderr := run("credentials", "add", "piped-1")
	assert.Equal(t, 1, ws.ExitStatus(), "%v %s", ws, stderr)
	assert.Contains(t, stderr, "credentials created for piped-1, but their secrets could not be printed")
	assert.Contains(t, stderr, "broken pipe")
	for _, args := range [][]string{{"credentials", "rm", "piped-1"}, {"bans", "add", "cid", "piped-2"}} {
		ws, stderr = run(args...)
		assert.Equal(t, 1, ws.ExitStatus(), "%v: %v %s", args, ws, stderr)
		assert.Contains(t, stderr, "done, but its output could not be written", args)
	}
	ws, stderr = run("bans", "list")
	assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGPIPE, "list ends by SIGPIPE: %v %s", ws, stderr)
	assert.Empty(t, stderr)
}
