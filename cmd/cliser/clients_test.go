package main

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
)

// cliEnv clears the CLI's environment so the tests see only what they set.
func cliEnv(t *testing.T) {
	t.Setenv("CLISER_ADMIN", "")
	t.Setenv("CLISER_ADMIN_LISTEN", "")
	t.Setenv("CLISER_ADMIN_TOKEN", "")
	t.Setenv("CLISER_ADMIN_TOKEN_FILE", "")
}

func TestCLIListTableJSONAndPages(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	addr := s.Addr()
	for i := range 11 {
		opsConnect(t, addr, opsPassword, fmt.Sprintf("dev-%02d", i))
	}
	gone := opsConnect(t, addr, opsPassword, "dev-gone")
	_ = gone.Conn.Close()
	require.Eventually(t, func() bool { r, _ := s.Registry().Get("dev-gone"); return !r.CStatus }, waitFor, tick)

	out, _, err := runCLI(t, "clients", "list", "--admin", s.admin)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 13, out)
	assert.Regexp(t, `^CID\s+SID\s+STATUS\s+ADDRESS\s+CONNECTED_AT\s+LAST_SEEN\s+DISCONNECTED_AT\s+REASON$`, lines[0])
	assert.Regexp(t, `^dev-00\s+\d+\s+connected\s+127\.0\.0\.1:\d+\s+\S+Z\s+\S+Z\s+-\s+-$`, lines[1])
	assert.Regexp(t, `^dev-gone\s+\d+\s+disconnected\s+127\.0\.0\.1:\d+\s+\S+Z\s+\S+Z\s+\S+Z\s+closed by client$`, lines[12])

	// --all follows every page, whatever the page size.
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--page-size", "4", "--all")
	require.NoError(t, err)
	all := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, all.Clients, 12)
	assert.Equal(t, "", all.Next)
	for i := range 11 {
		assert.Equal(t, fmt.Sprintf("dev-%02d", i), all.Clients[i].CID)
	}

	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--status", "disconnected")
	require.NoError(t, err)
	dis := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, dis.Clients, 1)
	assert.Equal(t, "dev-gone", dis.Clients[0].CID)
	assert.Equal(t, "closed by client", dis.Clients[0].Reason)

	// --prefix keeps the IDs that start with it, over every page.
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--prefix", "dev-0", "--page-size", "3", "--all")
	require.NoError(t, err)
	pre := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, pre.Clients, 10, "dev-00 to dev-09")
	assert.Equal(t, "dev-09", pre.Clients[9].CID)
	// An empty --prefix is every client ID, a whole ID one of them.
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--prefix", "", "--all")
	require.NoError(t, err)
	assert.Len(t, decodeJSON[admin.ListResponse](t, out).Clients, 12, "--prefix \"\" lists every record")
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--prefix", "dev-gone")
	require.NoError(t, err)
	assert.Len(t, decodeJSON[admin.ListResponse](t, out).Clients, 1)

	// --limit stops early and hands out the cursor; --cursor goes on.
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--status", "connected", "--limit", "5", "--page-size", "2")
	require.NoError(t, err)
	first := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, first.Clients, 5)
	require.NotEmpty(t, first.Next)
	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "-o", "json", "--status", "connected", "--cursor", first.Next)
	require.NoError(t, err)
	rest := decodeJSON[admin.ListResponse](t, out)
	assert.Len(t, rest.Clients, 6)
	assert.Equal(t, "dev-05", rest.Clients[0].CID)

	_, stderr, err := runCLI(t, "clients", "list", "--admin", s.admin, "--limit", "3")
	require.NoError(t, err)
	assert.Contains(t, stderr, "more clients: the next page is --cursor ")

	// The hint carries the filters: the cursor alone listed the next page
	// of every record (audit).
	_, stderr, err = runCLI(t, "clients", "list", "--admin", s.admin, "--status", "connected", "--prefix", "dev-0", "--limit", "4")
	require.NoError(t, err)
	flags, ok := strings.CutPrefix(strings.TrimSpace(stderr), "more clients: the next page is ")
	flags, _, cut := strings.Cut(flags, "; --all lists every one")
	require.True(t, ok && cut, stderr)
	assert.Regexp(t, `^--cursor \S+ --status connected --prefix dev-0 --limit 4$`, flags)
	out, _, err = runCLI(t, append([]string{"clients", "list", "--admin", s.admin, "-o", "json"}, strings.Fields(flags)...)...)
	require.NoError(t, err)
	next := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, next.Clients, 4)
	for i, c := range next.Clients {
		assert.Equal(t, fmt.Sprintf("dev-%02d", 4+i), c.CID)
		assert.True(t, c.CStatus, c.CID)
	}
}

func TestCLIGet(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	opsConnect(t, s.Addr(), opsPassword, "pos-0042")

	out, _, err := runCLI(t, "clients", "get", "pos-0042", "--admin", s.admin)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^cid:\s+pos-0042$`, out)
	assert.Regexp(t, `(?m)^status:\s+connected$`, out)
	assert.Regexp(t, `(?m)^disconnected_at:\s+-$`, out)
	assert.NotRegexp(t, `(?m)^node:`, out, "a single node's record has no node line")

	out, _, err = runCLI(t, "clients", "get", "pos-0042", "--admin", s.admin, "-o", "json")
	require.NoError(t, err)
	rec := decodeJSON[map[string]any](t, out)
	assert.Equal(t, "pos-0042", rec["cid"])
	assert.Nil(t, rec["disconnected_at"])
	assert.Len(t, rec, 9)

	_, _, err = runCLI(t, "clients", "get", "nobody", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, "no client nobody", err.Error())
	assert.Equal(t, 1, exitCode(err))
}

func TestCLIShutdownKickAndShutdownAll(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	addr := s.Addr()
	a := opsConnect(t, addr, opsPassword, "cli-a")
	b := opsConnect(t, addr, opsPassword, "cli-b")

	out, errOut, err := runCLI(t, "clients", "shutdown", "cli-a", "--reason", "maintenance window", "--admin", s.admin)
	require.NoError(t, err)
	assert.Equal(t, "shutdown sent to cli-a\n", out)
	assert.Empty(t, errOut, "the text goes as given")
	a.Expect("130 shutdown maintenance window")
	a.Send(protocol.ShutdownAck)
	a.ExpectClosed()
	require.Eventually(t, func() bool { r, _ := s.Registry().Get("cli-a"); return r.Reason == protocol.ReasonShutdown }, waitFor, tick)

	_, errOut, err = runCLI(t, "clients", "shutdown", "cli-a", "--reason", "café", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, "client cli-a is not connected", err.Error())
	assert.NotContains(t, errOut, "the text goes as", "nothing went")
	_, _, err = runCLI(t, "clients", "kick", "ghost", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, "no client ghost", err.Error())

	out, _, err = runCLI(t, "clients", "kick", "cli-b", "--admin", s.admin, "-o", "json")
	require.NoError(t, err)
	assert.JSONEq(t, `{"cid": "cli-b", "command": "kick"}`, out)
	b.ExpectClosed(testkit.CloseLine(protocol.ReasonKicked))

	c := opsConnect(t, addr, opsPassword, "cli-c")
	d := opsConnect(t, addr, opsPassword, "cli-d")
	// Folded to ASCII on its way (PROTOCOL.md): the operator is told what went.
	out, errOut, err = runCLI(t, "clients", "shutdown", "--all", "--reason", "bye\x1b[31m café", "--admin", s.admin)
	require.NoError(t, err)
	assert.Equal(t, "shutdown sent to 2 connected clients\n", out)
	assert.Equal(t, "cliser: note: the 130 line carries ASCII only: the text goes as \"bye [31m caf?\"\n", errOut)
	c.Expect("130 shutdown bye [31m caf?")
	d.Expect("130 shutdown bye [31m caf?")

	_, _, err = runCLI(t, "clients", "shutdown", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	_, _, err = runCLI(t, "clients", "shutdown", "cli-c", "--all", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
}

func TestCLIErrorsSayWhatToDo(t *testing.T) {
	cliEnv(t)
	// Nothing listens on a port just freed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	_, _, err = runCLI(t, "clients", "list", "--admin", dead)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is `cliser serve` running? check --admin/CLISER_ADMIN")
	assert.Contains(t, err.Error(), dead)
	assert.Equal(t, 1, exitCode(err))
	// A password in the address (a proxy's basic auth) is not repeated.
	for _, admin := range []string{"http://u:adm-s3cret@" + ln.Addr().String(), "http://adm-s3cret@" + ln.Addr().String(),
		"http://u:adm-s3cret@127.0.0.1:99999",
		"http://u:adm-s3cret%zz@127.0.0.1:1", "ftp://u:adm-s3cret@127.0.0.1:1"} {
		_, _, err = runCLI(t, "clients", "list", "--admin", admin)
		require.Error(t, err, admin)
		assert.NotContains(t, err.Error(), "s3cret", admin)
	}

	// A listener that never answers: out of --timeout, not unreachable.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer mute.Close()
	_, _, err = runCLI(t, "clients", "list", "--admin", mute.Addr().String(), "--timeout", "200ms")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer within --timeout 200ms")
	assert.Equal(t, 1, exitCode(err))

	const token = "cli-admin-token"
	s := startOpsServer(t, token)
	_, _, err = runCLI(t, "clients", "list", "--admin", s.admin)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set CLISER_ADMIN_TOKEN")
	t.Setenv("CLISER_ADMIN_TOKEN", "wrong")
	_, _, err = runCLI(t, "clients", "list", "--admin", s.admin)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused the token of CLISER_ADMIN_TOKEN")
	t.Setenv("CLISER_ADMIN_TOKEN", token)
	_, _, err = runCLI(t, "clients", "list", "--admin", s.admin)
	require.NoError(t, err)

	// Usage mistakes exit 2 and name the flag.
	for _, args := range [][]string{
		{"clients", "list", "--status", "online"},
		{"clients", "list", "-o", "yaml"},
		{"clients", "list", "--limit", "-1"},
		{"clients", "list", "--page-size", "1001"},
		{"clients", "list", "--admin", "ftp://x"},
		// Told by the API's 400: a cursor is opaque to the CLI.
		{"clients", "list", "--cursor", "garbage"},
	} {
		if !hasAdmin(args) {
			args = append(args, "--admin", s.admin)
		}
		_, _, err = runCLI(t, args...)
		require.Error(t, err, args)
		assert.Equal(t, 2, exitCode(err), "%v: %v", args, err)
	}
}

// --admin given the protocol port, a neighbour of the admin port and a
// likely slip, says so: it said "is `cliser serve` running?" of a server
// that was, sometimes with net/http's "readLoopPeekFailLocked: %!w(<nil>)"
// and a stray "Unsolicited response received on idle HTTP channel" log
// line (CLI audit).
func TestCLISaysTheProtocolPortIsNotTheAdminAPI(t *testing.T) {
	cliEnv(t)
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	s := startOpsServer(t, "")
	for i := range 5 {
		proto := "http://" + s.Addr()
		if i == 4 { // https:// too: the TLS handshake meets "110 password"
			proto = "https://" + s.Addr()
		}
		for _, args := range [][]string{{"clients", "list"}, {"status"}, {"events", "tail"}, {"events", "tail", "--after", "0"}} {
			_, stderr, err := runCLI(t, append(args, "--admin", proto)...)
			require.Error(t, err, "%d %v", i, args)
			assert.Contains(t, err.Error(), proto+" is not the admin API", args)
			assert.Contains(t, err.Error(), "--admin-listen", args)
			assert.NotContains(t, err.Error(), "is `cliser serve` running", args)
			assert.NotContains(t, err.Error(), "%!", args)
			assert.NotContains(t, stderr, "stream dropped", args)
			assert.Equal(t, 1, exitCode(err), args)
		}
	}
	assert.Empty(t, logged.String(), "net/http's own log lines")
}

func hasAdmin(args []string) bool {
	for _, a := range args {
		if a == "--admin" {
			return true
		}
	}
	return false
}

// The address comes from --admin, else CLISER_ADMIN, else the server's own
// CLISER_ADMIN_LISTEN (a container shares its environment with the probe).
func TestDefaultAdminAddress(t *testing.T) {
	cliEnv(t)
	assert.Equal(t, "http://127.0.0.1:7071", defaultAdmin())
	for listen, want := range map[string]string{
		":7071":          "http://127.0.0.1:7071",
		"0.0.0.0:9000":   "http://127.0.0.1:9000",
		"[::]:9001":      "http://127.0.0.1:9001",
		"10.1.2.3:9002":  "http://10.1.2.3:9002",
		"localhost:9003": "http://localhost:9003",
		"off":            "http://127.0.0.1:7071",
	} {
		t.Setenv("CLISER_ADMIN_LISTEN", listen)
		assert.Equal(t, want, defaultAdmin(), listen)
	}
	t.Setenv("CLISER_ADMIN", "http://admin.example:80")
	assert.Equal(t, "http://admin.example:80", defaultAdmin(), "CLISER_ADMIN wins")
}

func TestHealthCommand(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "probe-token-is-not-needed")
	out, _, err := runCLI(t, "health", "--admin", s.admin)
	require.NoError(t, err)
	assert.Equal(t, s.admin+"/healthz: ok\n", out)
	out, _, err = runCLI(t, "health", "--ready", "--admin", strings.TrimPrefix(s.admin, "http://"))
	require.NoError(t, err, "a bare host:port works too")
	assert.Equal(t, s.admin+"/readyz: ok\n", out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, _, err = runCLI(t, "health", "--admin", dead)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
}

// A fleet larger than a page: `clients list` prints the first 100 and says
// on stderr how to get the next page or all; following the hint and --all
// each reach every record exactly once.
func TestCLIListPagesByDefault(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	const fleet = 130
	for i := range fleet {
		opsConnect(t, s.Addr(), opsPassword, fmt.Sprintf("pg-%03d", i))
	}

	out, stderr, err := runCLI(t, "clients", "list", "--admin", s.admin)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1+defaultListLimit, "a header and one page")
	assert.True(t, strings.HasPrefix(lines[defaultListLimit], "pg-099 "), lines[defaultListLimit])
	hint := strings.TrimSpace(stderr)
	cursor, ok := strings.CutPrefix(hint, "more clients: the next page is --cursor ")
	cursor, _, cut := strings.Cut(cursor, "; --all lists every one")
	require.True(t, ok && cut && cursor != "" && !strings.ContainsAny(cursor, " \n"), hint)

	out, stderr, err = runCLI(t, "clients", "list", "--admin", s.admin, "--cursor", cursor)
	require.NoError(t, err)
	rest := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, rest, 1+fleet-defaultListLimit)
	assert.True(t, strings.HasPrefix(rest[1], "pg-100 "), rest[1])
	assert.Empty(t, stderr, "the last page has no hint")

	out, stderr, err = runCLI(t, "clients", "list", "--admin", s.admin, "--all", "--page-size", "7", "-o", "json")
	require.NoError(t, err)
	all := decodeJSON[admin.ListResponse](t, out)
	require.Len(t, all.Clients, fleet)
	assert.Empty(t, all.Next)
	assert.Empty(t, stderr)
	for i, r := range all.Clients {
		assert.Equal(t, fmt.Sprintf("pg-%03d", i), r.CID)
	}

	out, _, err = runCLI(t, "clients", "list", "--admin", s.admin, "--limit", "10", "-o", "json")
	require.NoError(t, err)
	page := decodeJSON[admin.ListResponse](t, out)
	assert.Len(t, page.Clients, 10)
	assert.NotEmpty(t, page.Next, "-o json gives the cursor as next")
}

func TestCLIStatusSingleNode(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	for i := range 3 {
		opsConnect(t, s.Addr(), opsPassword, fmt.Sprintf("st-%d", i))
	}
	gone := opsConnect(t, s.Addr(), opsPassword, "st-gone")
	_, _, err := runCLI(t, "clients", "kick", "st-gone", "--admin", s.admin)
	require.NoError(t, err)
	gone.ExpectClosed("190 kicked")

	var out string
	require.Eventually(t, func() bool {
		out, _, err = runCLI(t, "status", "--admin", s.admin)
		return err == nil && strings.Contains(out, "kicked 1")
	}, statsWait, 20*tick, "status never showed the kick: %s", out)
	assert.Regexp(t, `(?m)^clients:\s+3 connected of 4 records$`, out)
	assert.Regexp(t, `(?m)^handshakes:\s+\d+\.\d\d/s over the last minute$`, out)
	assert.Regexp(t, `(?m)^keep-alive RTT:\s+(-|p50 .* ms, p99 .* ms) over the last 5 minutes$`, out)
	assert.Regexp(t, `(?m)^disconnects:\s+kicked 1 over the last 5 minutes$`, out)
	assert.Regexp(t, `(?m)^health:\s+ready\n\z`, out, "the node's health closes the summary")
	assert.NotContains(t, out, "NODE", "a single node has no node table")

	out, _, err = runCLI(t, "status", "--admin", s.admin, "-o", "json")
	require.NoError(t, err)
	st := decodeJSON[admin.StatsResponse](t, out)
	assert.Equal(t, 3, st.Connected)
	assert.Equal(t, 4, st.Records)

	ln, err := net.Listen("tcp", "127.0.0.1:0") // nothing listens on a port just freed
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	_, _, err = runCLI(t, "status", "--admin", ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is `cliser serve` running?")
	assert.Equal(t, 1, exitCode(err))
}

// Messages that pointed the wrong way (audit): a client ID that starts
// with "-" was an unknown flag, with no word of "--"; an https:// address
// of the plain-HTTP admin API asked whether the server runs.
func TestCLISaysHowToReachWhatItMissed(t *testing.T) {
	cliEnv(t)
	s := startOpsServer(t, "")
	opsConnect(t, s.Addr(), opsPassword, "-dash")

	_, _, err := runCLI(t, "clients", "get", "-dash", "--admin", s.admin)
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, err.Error(), "a client ID that starts with - goes after --: cliser clients get -- -x")
	out, _, err := runCLI(t, "clients", "get", "--admin", s.admin, "-o", "json", "--", "-dash")
	require.NoError(t, err, "as the hint says")
	assert.Equal(t, "-dash", decodeJSON[admin.ClientRecord](t, out).CID)
	_, _, err = runCLI(t, "clients", "list", "-x", "--admin", s.admin)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "goes after --", "list takes no client ID")

	_, _, err = runCLI(t, "clients", "list", "--admin", strings.Replace(s.admin, "http://", "https://", 1))
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, err.Error(), "answered in plain HTTP: give --admin/CLISER_ADMIN as http://")
	assert.NotContains(t, err.Error(), "is `cliser serve` running")
}
