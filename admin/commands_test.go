package admin_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

func TestShutdownOneClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	c := s.connect(t, "pos-0042")

	r := s.call(t, http.MethodPost, "/v1/clients/pos-0042/shutdown", `{"reason": "maintenance window"}`)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	var resp admin.CommandResponse
	r.decode(t, &resp)
	assert.Equal(t, admin.CommandResponse{CID: "pos-0042", Command: "shutdown"}, resp)

	c.Expect("130 shutdown maintenance window")
	c.Send(protocol.ShutdownAck)
	c.ExpectClosed()
	eventually(t, func() bool {
		rec, _ := s.reg.Get("pos-0042")
		return !rec.CStatus && rec.Reason == protocol.ReasonShutdown
	}, "record says shutdown")

	// Now it is not connected: 404, saying so.
	r = s.call(t, http.MethodPost, "/v1/clients/pos-0042/shutdown", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, `client "pos-0042" is not connected`, r.errorText(t))
	r = s.call(t, http.MethodPost, "/v1/clients/nobody/shutdown", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, `no client "nobody"`, r.errorText(t))
}

func TestShutdownWithoutBodySendsBareOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	c := s.connect(t, "bare-1")
	r := s.call(t, http.MethodPost, "/v1/clients/bare-1/shutdown", "")
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	c.Expect("130 shutdown")

	c2 := s.connect(t, "bare-2")
	r = s.call(t, http.MethodPost, "/v1/clients/bare-2/shutdown", `{}`)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	c2.Expect("130 shutdown")

	// Line breaks in the reason cannot split the protocol line.
	c3 := s.connect(t, "bare-3")
	r = s.call(t, http.MethodPost, "/v1/clients/bare-3/shutdown", `{"reason": "a\nb"}`)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	c3.Expect("130 shutdown a b")

	// ASCII, as every protocol line is (PROTOCOL.md): the rest went out
	// as given, UTF-8 and escape codes on the wire.
	c4 := s.connect(t, "bare-4")
	r = s.call(t, http.MethodPost, "/v1/clients/bare-4/shutdown", `{"reason": "café \u001b[1m☕"}`)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	c4.Expect("130 shutdown caf?  [1m?")
}

func TestShutdownRejectsBadBodies(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	s.connect(t, "body-1")
	// Each answer says what is wrong in the request's terms, never in
	// Go's (a struct's name, "unmarshal").
	for name, c := range map[string]struct{ body, says string }{
		"not json":      {`reason=x`, "not valid JSON at byte 1"},
		"wrong type":    {`{"reason": 5}`, `field "reason" must be a string, not number`},
		"object":        {`{"reason": {"a": 1}}`, `field "reason" must be a string, not object`},
		"unknown field": {`{"reson": "typo"}`, `unknown field "reson"`},
		"cut short":     {`{"reason": "a"`, "the JSON ends early"},
		"trailing data": {`{"reason": "a"} {"reason": "b"}`, "data after the JSON object"},
		"array":         {`["x"]`, "the body is a JSON array, not an object"},
		"too long":      {`{"reason": "` + strings.Repeat("r", protocol.MaxShutdownReason+1) + `"}`, "reason"},
		// encoding/json matches names in any case and lets the last of
		// a repeated one win, and null decodes to nothing: all three
		// were a 202 (audit).
		"other case": {`{"REASON": "upper"}`, `unknown field "REASON" (names are case-sensitive: "reason")`},
		"twice":      {`{"reason": "one", "reason": "two"}`, `field "reason" is given twice`},
		"null":       {`null`, "the body is a JSON null, not an object"},
	} {
		for _, path := range []string{"/v1/clients/body-1/shutdown", "/v1/shutdown"} {
			r := s.call(t, http.MethodPost, path, c.body)
			assert.Equal(t, http.StatusBadRequest, r.status, name)
			text := r.errorText(t)
			assert.Contains(t, text, c.says, "%s: %s", name, path)
			assert.NotContains(t, text, "Go ", "%s: %s", name, path)
			assert.NotContains(t, text, "unmarshal", "%s: %s", name, path)
		}
	}
	// A body over the limit is 413, not 400: nothing in it was read.
	huge := `{"reason": "` + strings.Repeat("r", 70<<10) + `"}`
	for _, path := range []string{"/v1/clients/body-1/shutdown", "/v1/shutdown"} {
		r := s.call(t, http.MethodPost, path, huge)
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, path)
		assert.Contains(t, r.errorText(t), "body over 65536 bytes", path)
	}
	rec, _ := s.reg.Get("body-1")
	assert.True(t, rec.CStatus, "no bad request reached the client")
	// The longest reason that fits is taken.
	r := s.call(t, http.MethodPost, "/v1/clients/body-1/shutdown", `{"reason": "`+strings.Repeat("r", protocol.MaxShutdownReason)+`"}`)
	assert.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
}

func TestKickOneClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	c := s.connect(t, "kick-me")
	other := s.connect(t, "stay")

	// A body is refused, not ignored: a reason here would look taken.
	r := s.call(t, http.MethodPost, "/v1/clients/kick-me/kick", `{"reason": "maintenance"}`)
	require.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Contains(t, r.errorText(t), "takes no body")
	before, _ := s.reg.Get("kick-me")
	require.True(t, before.CStatus, "not kicked by the refused call")

	r = s.call(t, http.MethodPost, "/v1/clients/kick-me/kick", "")
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	var resp admin.CommandResponse
	r.decode(t, &resp)
	assert.Equal(t, admin.CommandResponse{CID: "kick-me", Command: "kick"}, resp)
	c.ExpectClosed(testkit.CloseLine(protocol.ReasonKicked))
	eventually(t, func() bool {
		rec, _ := s.reg.Get("kick-me")
		return !rec.CStatus && rec.Reason == protocol.ReasonKicked
	}, "record says kicked")

	var rec admin.ClientRecord
	s.call(t, http.MethodGet, "/v1/clients/kick-me", "").decode(t, &rec)
	assert.Equal(t, "kicked", rec.Reason)
	assert.NotNil(t, rec.DisconnectedAt)

	r = s.call(t, http.MethodPost, "/v1/clients/kick-me/kick", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.errorText(t), "not connected")
	r = s.call(t, http.MethodPost, "/v1/clients/ghost/kick", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, `no client "ghost"`, r.errorText(t))
	r = s.call(t, http.MethodPost, "/v1/clients/bad%20id/kick", "")
	assert.Equal(t, http.StatusNotFound, r.status, "no client can have it")
	assert.Contains(t, r.errorText(t), `no client "bad id": not a valid client id`)

	// The other client heard nothing and is still registered.
	stay, _ := s.reg.Get("stay")
	assert.True(t, stay.CStatus)
	require.NoError(t, other.Conn.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err := other.R.ReadString('\n')
	assert.Error(t, err, "no line for the other client")
}

func TestShutdownAll(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	live := []*testkit.RawClient{s.connect(t, "all-1"), s.connect(t, "all-2"), s.connect(t, "all-3")}
	s.connect(t, "all-gone")
	s.leave(t, "all-gone")

	r := s.call(t, http.MethodPost, "/v1/shutdown", `{"reason": "fleet update"}`)
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	assert.JSONEq(t, `{"sent": 3}`, string(r.body))
	for _, c := range live {
		c.Expect("130 shutdown fleet update")
		c.Send(protocol.ShutdownAck)
		c.ExpectClosed()
	}
	eventually(t, func() bool { c, _ := s.reg.Counts(); return c == 0 }, "all gone")

	r = s.call(t, http.MethodPost, "/v1/shutdown", "")
	require.Equal(t, http.StatusAccepted, r.status)
	assert.JSONEq(t, `{"sent": 0}`, string(r.body))
}

// While the server is starting or draining, commands are refused with 503
// and /readyz says 503; reads and /healthz keep working.
func TestStartingAndDraining(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{noStart: true})
	r := s.call(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "starting")
	assert.Contains(t, r.errorText(t), "starting or draining")
	r = s.call(t, http.MethodGet, "/v1/health", "")
	assert.Equal(t, http.StatusOK, r.status, "/v1/health answers its verdict as a 200")
	assert.JSONEq(t, `{"ready": false, "error": "not accepting clients: starting or draining"}`, string(r.body))
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/healthz", "").status)
	r = s.call(t, http.MethodPost, "/v1/shutdown", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	r.errorText(t)

	require.NoError(t, s.srv.Start())
	r = s.call(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status": "ready"}`, string(r.body))
	assert.JSONEq(t, `{"ready": true}`, string(s.call(t, http.MethodGet, "/v1/health", "").body))
	c := s.connect(t, "drain-1")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.srv.Stop(ctx))
	c.ExpectClosed(testkit.CloseLine(protocol.ReasonServerShuttingDown))
	assert.Equal(t, http.StatusServiceUnavailable, s.call(t, http.MethodGet, "/readyz", "").status, "draining")
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/healthz", "").status, "the process still serves")
	for _, path := range []string{"/v1/clients/drain-1/kick", "/v1/clients/drain-1/shutdown", "/v1/shutdown"} {
		r := s.call(t, http.MethodPost, path, "")
		assert.Equal(t, http.StatusServiceUnavailable, r.status, path)
		r.errorText(t)
	}
	var rec admin.ClientRecord
	r = s.call(t, http.MethodGet, "/v1/clients/drain-1", "")
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &rec)
	assert.Equal(t, "server shutting down", rec.Reason)
}

// A ready check's fault (identity that does not follow its store, a
// registry that cannot write) takes the node out of its balancer under
// its own name, notes and all, while the engine still serves: commands
// go through.
func TestReadyCheckFaultLeavesCommandsWorking(t *testing.T) {
	t.Parallel()
	var fault atomic.Pointer[error]
	s := newStack(t, stackConfig{apiOpts: []admin.Option{
		admin.WithReadyCheck(func() error {
			if e := fault.Load(); e != nil {
				return *e
			}
			return nil
		}),
		admin.WithHealthNote("events", func() error { return errors.New("event log: disk full") }),
	}})
	r := s.call(t, http.MethodGet, "/readyz", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status": "ready", "events": "event log: disk full"}`, string(r.body))

	e := errors.New("identity: credentials and bans not followed since 2026-12-05T00:00:00Z (watch)")
	fault.Store(&e)
	r = s.call(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.JSONEq(t, `{"error": "`+e.Error()+`", "events": "event log: disk full"}`, string(r.body), "the notes stay when not ready")
	r = s.call(t, http.MethodGet, "/v1/health", "")
	assert.JSONEq(t, `{"ready": false, "error": "`+e.Error()+`", "notes": {"events": "event log: disk full"}}`, string(r.body))

	c := s.connect(t, "rc-1")
	r = s.call(t, http.MethodPost, "/v1/clients/rc-1/kick", "")
	require.Equal(t, http.StatusAccepted, r.status, "a kick is not refused as draining: %s", r.body)
	c.ExpectClosed(testkit.CloseLine(protocol.ReasonKicked))
	r = s.call(t, http.MethodPost, "/v1/shutdown", "")
	assert.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
}

// A server still starting says so on /readyz, with what else ails it.
func TestReadyzKeepsNotesWhileStarting(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{noStart: true, apiOpts: []admin.Option{
		admin.WithHealthNote("events", func() error { return errors.New("event log: disk full") }),
	}})
	r := s.call(t, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status)
	assert.JSONEq(t, `{"error": "not accepting clients: starting or draining", "events": "event log: disk full"}`, string(r.body))
}

// The listener's Shutdown ends in-flight work, closes the port, and may be
// called again.
func TestListenerShutdown(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{noStart: true}) // the hand-wired stack: its listener is the test's to stop
	require.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/healthz", "").status)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.admin.Shutdown(ctx))
	require.NoError(t, s.admin.Shutdown(ctx), "a second call returns the first's result")
	_, err := http.Get(s.base + "/healthz")
	require.Error(t, err, "the port is closed")
}

// Client IDs "." and "..": a path that names them as such (or has an
// empty segment) is refused,
// not redirected to its cleaned form, which the client follows with the
// same method (POST /v1/clients/../shutdown became POST /v1/shutdown and
// shut every client down); the Go client, which the CLI uses, names them
// as %2E and %2E%2E and reaches them.
func TestDotClientIDs(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	dots := s.connect(t, "..")
	dot := s.connect(t, ".")
	victim := s.connect(t, "victim")

	for _, path := range []string{"/v1/clients/../shutdown", "/v1/clients/./kick", "/v1/clients/%2E%2E/../shutdown"} {
		r := s.call(t, http.MethodPost, path, "")
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", path, r.body)
		assert.Contains(t, r.errorText(t), "write a client ID of . or .. as %2E or %2E%2E", path)
	}
	r := s.call(t, http.MethodGet, "/v1/clients/..", "")
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	// An empty segment was an HTML 307 to the cleaned path (audit).
	for _, path := range []string{"/v1//shutdown", "/v1/clients//victim", "//v1/clients/victim/kick"} {
		r := s.call(t, http.MethodPost, path, "")
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", path, r.body)
		assert.Contains(t, r.errorText(t), "has an empty segment (//)", path)
	}

	c, err := admin.NewClient(s.base, "", 5*time.Second)
	require.NoError(t, err)
	ctx := t.Context()
	rec, err := c.Get(ctx, "..")
	require.NoError(t, err)
	assert.Equal(t, "..", rec.CID)
	resp, err := c.Shutdown(ctx, "..", "dots")
	require.NoError(t, err)
	assert.Equal(t, "..", resp.CID)
	dots.Expect("130 shutdown dots")
	_, err = c.Kick(ctx, ".")
	require.NoError(t, err)
	dot.ExpectClosed("190 kicked")
	// The victim's next line is its own kick, not a shutdown meant for another.
	_, err = c.Kick(ctx, "victim")
	require.NoError(t, err)
	victim.ExpectClosed("190 kicked")
}

// With an admin token, /readyz (which wants none) says ready or not and
// why, but not the notes: they name the webhook's URL, whose path is the
// secret of many receivers (https://discord.com/api/webhooks/ID/TOKEN),
// and the data dir's files. /v1/health, behind the token, has them.
func TestReadyzKeepsNotesBehindTheToken(t *testing.T) {
	t.Parallel()
	note := "webhook: https://hooks.example/api/webhooks/1/path-s3cret has not acknowledged since 2026-12-05T00:00:00Z"
	s := newStack(t, stackConfig{token: "readyz-token", apiOpts: []admin.Option{
		admin.WithHealthNote("webhook", func() error { return errors.New(note) }),
	}})
	r := s.callToken(t, http.MethodGet, "/readyz", "", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"status": "ready"}`, string(r.body))
	r = s.callToken(t, http.MethodGet, "/readyz", "", "readyz-token")
	assert.JSONEq(t, `{"status": "ready"}`, string(r.body), "a probe's answer is the same for all")
	r = s.call(t, http.MethodGet, "/v1/health", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"ready": true, "notes": {"webhook": "`+note+`"}}`, string(r.body))
}
