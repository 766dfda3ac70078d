package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry/logstore"
)

// The data dir removed under a running server (rm -rf, a tmp cleaner):
// every write used to succeed into files no restart reads, and a restart
// came up with no records. The registry's files are written again from
// the open ones within moments, said in the log and counted, so even a
// crash right after loses no record.
func TestBinaryRemovedDataDirIsWrittenAgain(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	for i := range 3 {
		opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("dir-%d", i))
	}
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricEntries)
		return ok && n >= 3
	}, waitFor, tick, "the three records written")

	require.NoError(t, os.RemoveAll(dataDir))
	require.Eventually(t, func() bool {
		n, ok := testkit.Metric(base, logstore.MetricLost)
		return ok && n == 1
	}, waitFor, tick, "the files written again:\n%s", p.LogText())
	p.WaitLog(t, waitFor, "its files in the data dir were removed or replaced while the server ran", `"data_dir":"`+dataDir+`"`)
	code, body := testkit.HTTPGet(t, base+"/readyz")
	assert.Equal(t, 200, code, body)

	require.NoError(t, p.Cmd.Process.Kill())
	<-p.Exited
	p2 := testkit.Serve(t, env, serveArgs(dataDir)...)
	got := records(t, apiOf(t, p2))
	for i := range 3 {
		r, ok := got[fmt.Sprintf("dir-%d", i)]
		if assert.True(t, ok, "dir-%d lost", i) {
			assert.Equal(t, protocol.ReasonServerRestarted.String(), r.Reason)
		}
	}
}
