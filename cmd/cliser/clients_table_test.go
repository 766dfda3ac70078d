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
	rec := admin.ClientRecord{SID: 3, CID: "pos-1", CIP: "127.0.0.1", CPort: "5000", CStatus: true,
		ConnectedAt: "2026-11-25T20:00:00Z", LastSeen: "2026-11-25T20:00:00Z"}
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
