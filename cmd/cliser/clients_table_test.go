package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

func TestTableShowsNodeOnlyInClusterMode(t *testing.T) {
	at := "2026-11-25T20:00:00Z"
	rec := admin.ClientRecord{SID: 3, CID: "pos-1", CIP: "127.0.0.1", CPort: "5000", CStatus: true,
		ConnectedAt: &at, LastSeen: &at}
	var single bytes.Buffer
	require.NoError(t, writeTable(&single, []admin.ClientRecord{rec}))
	assert.NotContains(t, single.String(), "NODE")

	rec.Node = "n3"
	var cluster bytes.Buffer
	require.NoError(t, writeTable(&cluster, []admin.ClientRecord{rec}))
	lines := strings.Split(strings.TrimSpace(cluster.String()), "\n")
	require.Len(t, lines, 2)
	assert.True(t, strings.HasSuffix(strings.TrimSpace(lines[0]), "NODE"))
	assert.True(t, strings.HasSuffix(strings.TrimSpace(lines[1]), "n3"))

	var one bytes.Buffer
	require.NoError(t, writeRecord(&one, rec))
	assert.Contains(t, one.String(), "node:")
}

// Another node's client in a stale answer has no sid, address or times:
// the table and the record say "-", not "0", ":" or the year 1.
func TestTableShowsUnknownFieldsAsDashes(t *testing.T) {
	rec := admin.ClientRecord{CID: "far-1", CStatus: true, Node: "n2"}
	var table bytes.Buffer
	require.NoError(t, writeTable(&table, []admin.ClientRecord{rec}))
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, []string{"far-1", "-", "connected", "-", "-", "-", "-", "-", "n2"}, strings.Fields(lines[1]))

	var one bytes.Buffer
	require.NoError(t, writeRecord(&one, rec))
	for _, field := range []string{"sid", "cip", "cport", "connected_at", "last_seen"} {
		assert.Regexp(t, `(?m)^`+field+`:\s+-$`, one.String())
	}
	assert.NotContains(t, one.String(), "0001")
}
