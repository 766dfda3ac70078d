package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// --node-id is free text, and every client event names it. `cliser events
// tail` printed it raw: the escape codes in it set the operator's window
// title and colours, and a bidi override turned the rest of the line
// around (odd-input audit). serve now refuses such a --node-id
// (TestEveryUsageMistakeExits2), and the tail quotes what a node of an
// earlier build may still send, with Go's escapes, as a ban's reason is;
// -o json keeps it as it is. Printing alone: no server of this build
// makes such an event.
func TestEventsTailShowsANodeIDWithEscapeCodesQuoted(t *testing.T) {
	const hostile = "n\x1b]0;pwned\x07\x1b[31mred\u202eevil"
	ev := events.Event{Seq: 7, Type: events.TypeConnected, CID: "odd-node-1", SID: 1, Node: hostile, By: "op\x1b[8m"}
	var out bytes.Buffer
	require.NoError(t, printEvent(&out, ev, false))
	line := out.String()
	assert.NotContains(t, line, "\x1b", "no escape byte reaches the terminal: %q", line)
	assert.NotContains(t, line, "\u202e", "no bidi override: %q", line)
	assert.Contains(t, line, `node="n\x1b]0;pwned\a\x1b[31mred\u202eevil"`)
	assert.Contains(t, line, `by="op\x1b[8m"`)

	out.Reset()
	require.NoError(t, printEvent(&out, ev, true))
	var back events.Event
	require.NoError(t, json.Unmarshal(out.Bytes(), &back))
	assert.Equal(t, hostile, back.Node, "-o json keeps the text")
}

// A cluster's records and `cliser status` name other machines' --node-id:
// `clients get` and the status's node table and error lines printed them
// raw (odd-input audit). Printing alone: a cluster needs NATS, and these
// are the functions both commands print with.
func TestClientAndStatusShowANodeIDWithEscapeCodesQuoted(t *testing.T) {
	const hostile = "n\x1b[2J\u202eevil"
	var out bytes.Buffer
	require.NoError(t, writeRecord(&out, admin.ClientRecord{CID: "c1", SID: 1, Node: hostile}))
	st := admin.StatsResponse{Nodes: []admin.NodeStats{{Node: hostile, State: "unreachable", Error: "no answer\x1b[31m"}}}
	hl := healthLines{h: admin.HealthResponse{Error: "down\x1b]0;x\x07", Notes: map[string]string{"webhook": "webhook: \x1b[8m"}}}
	require.NoError(t, writeStatus(&out, "http://127.0.0.1:1", st, hl))
	assert.NotContains(t, out.String(), "\x1b")
	assert.NotContains(t, out.String(), "\u202e")
	assert.Contains(t, out.String(), `node:             "n\x1b[2J\u202eevil"`)
	assert.Contains(t, out.String(), `"n\x1b[2J\u202eevil" unreachable: "no answer\x1b[31m"`)
}
