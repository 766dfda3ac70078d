package harness

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed soak's report is what its JSON renders, byte for byte: a
// change to the report's layout shows here (and re-renders that file).
func TestSoakReportOfTheCommittedRun(t *testing.T) {
	const run = "../results/2026-11-25-soak"
	b, err := os.ReadFile(run + ".json")
	require.NoError(t, err)
	var res SoakResult
	require.NoError(t, json.Unmarshal(b, &res))
	want, err := os.ReadFile(run + ".md")
	require.NoError(t, err)
	var md bytes.Buffer
	require.NoError(t, res.Markdown(&md))
	assert.Equal(t, string(want), md.String())
}
