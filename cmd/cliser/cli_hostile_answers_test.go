package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// hostile holds what a terminal acts on: a colour, a window title, a
// bidi override.
const hostile = "x\x1b[31m\x1b]0;pwn\x07\u202e"

// A wrong or compromised --admin target (or a store of an older build)
// can answer any text in any field. `clients list` printed the cid and
// the address raw, `clients get` and `credentials list` the cid, `bans
// list` the kind, value and by, and a 400's words reached the error line
// raw (strings audit): every one of them drove the terminal.
func TestCLIPrintsNoControlCharacterAServerSends(t *testing.T) {
	cliEnv(t)
	at := "2026-12-07T20:00:00Z"
	rec := admin.ClientRecord{SID: 1, CID: "a" + hostile, CIP: "1.2.3.4" + hostile, CPort: "5" + hostile,
		CStatus: true, ConnectedAt: &at, LastSeen: &at, Reason: hostile}
	answers := map[string]any{
		"GET /v1/clients":             admin.ListResponse{Clients: []admin.ClientRecord{rec}},
		"GET /v1/clients/pos-1":       rec,
		"POST /v1/clients/pos-1/kick": admin.CommandResponse{CID: "pos-1" + hostile, Command: "kick"},
		"GET /v1/credentials":         admin.CredentialList{Credentials: []admin.Credential{{CID: "c" + hostile, CreatedAt: at + hostile}}},
		"GET /v1/bans":                admin.BanList{Bans: []admin.Ban{{Kind: "cid" + hostile, Value: "v" + hostile, By: "op" + hostile, At: at + hostile, Reason: hostile}}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body, ok := answers[r.Method+" "+r.URL.Path]
		switch {
		case !ok:
			w.WriteHeader(http.StatusBadRequest)
			body = admin.ErrorResponse{Error: "bad" + hostile}
		case r.Method == http.MethodPost:
			w.WriteHeader(http.StatusAccepted)
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	base := srv.URL

	for _, args := range [][]string{
		{"clients", "list"}, {"clients", "get", "pos-1"}, {"clients", "kick", "pos-1"},
		{"credentials", "list"}, {"bans", "list"},
	} {
		out, _, err := runCLI(t, append(args, "--admin", base)...)
		require.NoError(t, err, args)
		assert.NotContains(t, out, "\x1b", args)
		assert.NotContains(t, out, "\u202e", args)
		assert.Contains(t, out, `\x1b[31m`, "%v shows the escape as text", args)
	}

	_, _, err := runCLI(t, "bans", "add", "cid", "pos-1", "--admin", base)
	require.Error(t, err)
	var line bytes.Buffer
	printError(&line, err)
	assert.NotContains(t, line.String(), "\x1b")
	assert.Contains(t, line.String(), `refused the request: badx\x1b[31m\x1b]0;pwn\a\u202e`)
}

// A --node-id may hold spaces, '=' and quotes: `events tail` printed it
// as it was, so `node=n1 cid=forged reason="x"` read as three fields, a
// second cid among them (strings audit).
func TestEventsTailQuotesANodeIDThatReadsAsMoreFields(t *testing.T) {
	ev := events.Event{Seq: 3, Type: events.TypeConnected, CID: "real-1", SID: 1, Node: `n1 cid=forged reason="x"`}
	var out bytes.Buffer
	require.NoError(t, printEvent(&out, ev, false))
	line := out.String()
	assert.True(t, strings.HasSuffix(line, ` node="n1 cid=forged reason=\"x\""`+"\n"), line)

	ev.Node = "n1"
	out.Reset()
	require.NoError(t, printEvent(&out, ev, false))
	assert.True(t, strings.HasSuffix(out.String(), " node=n1\n"), "a plain node stays unquoted: %s", out.String())
}

// So do the clients table's NODE column and the status's nodes table:
// "sp ace" read as two columns (cluster audit).
func TestTablesQuoteANodeIDWithSpaces(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, writeTable(&out, []admin.ClientRecord{{CID: "c1", SID: 1, CStatus: true, Node: "sp ace"}}))
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out.String()), `"sp ace"`), out.String())
	out.Reset()
	st := admin.StatsResponse{Nodes: []admin.NodeStats{{Node: "sp ace", State: admin.NodeUp, Notes: map[string]string{"clients": "clients: full"}}}}
	require.NoError(t, writeStatus(&out, "http://127.0.0.1:1", st, healthLines{h: admin.HealthResponse{Ready: true}}))
	assert.Regexp(t, `(?m)^"sp ace"\s+up\s`, out.String())
	assert.Contains(t, out.String(), `"sp ace" note: clients: full`)
}
