package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

// What no command reads is named, with the setting it was likely meant
// for; what serve, the agent or the CLI reads is not, nor another
// program's variable.
func TestUnknownEnvNamesMisspeltSettings(t *testing.T) {
	got := unknownEnv([]string{
		"CLISER_KEEPALIVE_INTERVALL=5s", "CLISER_SERVR=host:1", "CLISER_FOO=a-secret-value", "CLISER_OUTPUT=json",
		"CLISER_PASSWORD=x", "CLISER_ADMIN_TOKEN=x", "CLISER_ADMIN=http://x", "CLISER_SERVER=h:1",
		"CLISER_DATA_DIR=/d", "CLISER_WEBHOOK_SECRET=whsec_x", "CLISER_PUBLISH=7070", "CLISER_TLS_CA=/ca.pem",
		"PATH=/bin", "NOT_CLISER_X=1", "CLISER_=1", "CLISER_IDD=1", "CLISER_I=1",
		"CLISER_XEUPROFILE=1", // 2 from CLISER_CPUPROFILE and CLISER_MEMPROFILE alike
	})
	assert.Equal(t, []string{
		"CLISER_", "CLISER_FOO", "CLISER_I", // too short to tell what was meant
		"CLISER_IDD (CLISER_ID?)",
		"CLISER_KEEPALIVE_INTERVALL (CLISER_KEEPALIVE_INTERVAL?)",
		"CLISER_OUTPUT", // a CLI flag, but the CLI reads only CLISER_ADMIN
		"CLISER_SERVR (CLISER_SERVER?)",
		"CLISER_XEUPROFILE (CLISER_CPUPROFILE?)", // a tie: the first in order, the same every start
	}, got)
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"kitten", "sitting", 3}, {"SERVR", "SERVER", 1}, {"ab", "ba", 2}} {
		assert.Equal(t, c.d, editDistance(c.a, c.b), "%q %q", c.a, c.b)
		assert.Equal(t, c.d, editDistance(c.b, c.a), "%q %q", c.b, c.a)
	}
}

// A misspelt setting in the server's environment is named in one warning
// at start, never with its value; the server starts on its defaults.
func TestBinaryServeWarnsOfAMisspeltVariable(t *testing.T) {
	const value = "value-that-may-be-a-secret"
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_KEEPALIVE_INTERVALL=" + value},
		"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	require.Equal(t, 0, p.Stop(t), p.LogText())
	logText := p.LogText()
	assert.Contains(t, logText, `"msg":"environment: no cliser setting has these names, so they are ignored`)
	assert.Contains(t, logText, `"CLISER_KEEPALIVE_INTERVALL (CLISER_KEEPALIVE_INTERVAL?)"`)
	assert.Contains(t, logText, `"keepalive_interval":30`, "the misspelt setting changed nothing")
	assert.NotContains(t, logText, value)
}
