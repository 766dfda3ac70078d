package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/internal/testkit"
)

func TestBinaryServesHandshakeAndDrainsOnSIGTERM(t *testing.T) {
	dataDir := t.TempDir()
	p := testkit.Serve(t, []string{"CLISER_PASSWORD=bin-secret"},
		"--listen", "127.0.0.1:0", "--admin-listen", "off", "--data-dir", dataDir, "--keepalive-interval", "1h")

	c := opsConnect(t, p.Addr, "bin-secret", "bin-client-1")

	p.Terminate(t)
	c.ExpectClosed("190 server shutting down")
	assert.Equal(t, 0, p.Wait(t), p.LogText())

	logs := p.LogText()
	assert.Contains(t, logs, `"msg":"client registered"`)
	assert.Contains(t, logs, `"cid":"bin-client-1"`)
	assert.Contains(t, logs, `"reason":"server shutting down"`)
	assert.NotContains(t, logs, "bin-secret", "a password reached the logs")
}

func TestBinaryRefusesToStartWithoutPassword(t *testing.T) {
	out, code := testkit.Run(t, testkit.Environ([]string{"CLISER_PASSWORD"}), "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	assert.Equal(t, 2, code, out)
	assert.Contains(t, out, "no password configured")
	assert.Contains(t, out, "CLISER_PASSWORD")
	assert.Contains(t, out, "give --require-credentials", "the other way to start, IDENTITY.md's (found by the identity audit)")
}

func TestBinaryVersion(t *testing.T) {
	out, code := testkit.Run(t, testkit.Environ(nil), "version")
	require.Zero(t, code, out)
	assert.True(t, strings.HasPrefix(out, "cliser "), out)
}
