package harness

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The committed soaks' reports are what their JSON renders, byte for
// byte: a change to the report's layout shows here (and re-renders those
// files). The first has no feature on; the second every one.
func TestSoakReportOfTheCommittedRun(t *testing.T) {
	for _, run := range []string{"../results/2026-11-25-soak", "../results/2026-12-04-soak-full-10m"} {
		b, err := os.ReadFile(run + ".json")
		require.NoError(t, err)
		var res SoakResult
		require.NoError(t, json.Unmarshal(b, &res))
		want, err := os.ReadFile(run + ".md")
		require.NoError(t, err)
		var md bytes.Buffer
		require.NoError(t, res.Markdown(&md))
		assert.Equal(t, string(want), md.String(), run)
	}
}
