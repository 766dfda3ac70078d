package harness

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A cluster report lists its errors by kind in the kinds' order, as the
// soak's does: rendered again from its JSON, it is the same file.
func TestClusterReportErrorsInOrder(t *testing.T) {
	r := ClusterResult{Errors: map[string]int64{}, Problems: []string{"n1: a problem"}}
	var want []string
	for i := range 12 {
		kind := fmt.Sprintf("kind %02d", i)
		r.Errors[kind] = int64(i + 1)
		want = append(want, fmt.Sprintf("- %d × %s", i+1, kind))
	}
	want = append(want, "- n1: a problem")
	var md bytes.Buffer
	require.NoError(t, r.Markdown(&md))
	_, problems, ok := strings.Cut(md.String(), "\n## Problems\n\n")
	require.True(t, ok, md.String())
	assert.Equal(t, want, strings.Split(strings.TrimSpace(problems), "\n"))
}
