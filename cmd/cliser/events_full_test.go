package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
)

// fillDisk writes a file into dir until the file system has no room left,
// and returns a func that deletes it (room again).
func fillDisk(t *testing.T, dir string) func() {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	require.NoError(t, err)
	chunk := make([]byte, 4096)
	for {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	require.ErrorIs(t, err, syscall.ENOSPC, "the filler stops at a full disk")
	require.NoError(t, f.Close())
	return func() { require.NoError(t, os.Remove(path)) }
}

// A full disk under events.db and identity.db (a 2 MiB tmpfs, filled
// while the server runs): handshakes go on; the log's failing writes are
// logged once, counted, and /readyz names the fault and the events that
// wait; a credential answers a JSON 503 and is counted. With room again
// the waiting events are written (none lost), credentials are made, and
// after a restart both files read back whole.
func TestBinaryEventsAndIdentityFullDisk(t *testing.T) {
	dataDir := mountTmpfs(t, "2m")
	env := []string{"CLISER_PASSWORD=" + opsPassword, "CLISER_ADMIN_TOKEN="}
	p := testkit.Serve(t, env, serveArgs(dataDir)...)
	base := p.AdminURL(t)
	status, body := testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/before-full", "", nil)
	require.Equal(t, http.StatusCreated, status, body)

	free := fillDisk(t, dataDir)
	const n = 400 // 400 events of ~300 bytes: more than bbolt's free pages hold
	clients := make([]*testkit.RawClient, 0, n)
	start := time.Now()
	for i := range n {
		clients = append(clients, opsConnect(t, p.Addr, opsPassword, fmt.Sprintf("full-%04d", i)))
	}
	t.Logf("%d handshakes on a full disk in %v", n, time.Since(start))

	require.Eventually(t, func() bool {
		_, body := testkit.HTTPGet(t, base+"/readyz")
		return strings.Contains(body, "event log: writes to")
	}, waitFor, 20*time.Millisecond, "/readyz names the event log's fault")
	_, body = testkit.HTTPGet(t, base+"/readyz")
	assert.Contains(t, body, "no space left on device")
	assert.Contains(t, body, "events wait in memory")
	require.Eventually(t, func() bool { return metricOf(t, base, events.MetricStoreErrors) >= 3 },
		waitFor, 20*time.Millisecond, "failing writes are retried, each counted")
	assert.Positive(t, metricOf(t, base, events.MetricQueued), "the events wait")
	assert.Equal(t, 1, logCount(t, p, "events: writing to the log failed"),
		"one error line for the outage, not one per try:\n%s", p.LogText())

	// A credential that fits into the file's free pages is still written
	// (bbolt reuses them); the first that needs room answers a JSON 503,
	// counted, and is not half made.
	made := []string{"before-full"}
	refused := ""
	for i := 0; i < 2000 && refused == ""; i++ {
		cid := fmt.Sprintf("during-full-%04d", i)
		status, body = testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/"+cid, "", nil)
		switch status {
		case http.StatusCreated:
			made = append(made, cid)
		case http.StatusServiceUnavailable:
			refused = cid
		default:
			t.Fatalf("POST /v1/credentials/%s: %d %s", cid, status, body)
		}
	}
	require.NotEmpty(t, refused, "a full disk refuses a credential at some point")
	t.Logf("%d credentials fitted into free pages before the first 503", len(made)-1)
	var e admin.ErrorResponse
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.Contains(t, e.Error, "no space left on device")
	assert.Positive(t, metricOf(t, base, "cliser_identity_store_errors_total"))
	status, _ = testkit.HTTPGet(t, base+"/v1/credentials/"+refused)
	assert.Equal(t, http.StatusNotFound, status, "a refused credential is not half made")

	// Room again.
	free()
	require.Eventually(t, func() bool {
		code, body := testkit.HTTPGet(t, base+"/readyz")
		return code == http.StatusOK && !strings.Contains(body, "event log")
	}, waitFor, 20*time.Millisecond, "/readyz is clear once the log writes again")
	assert.Equal(t, 1, logCount(t, p, "events: writes to the log work again"))
	assert.Zero(t, metricOf(t, base, events.MetricQueued))
	assert.Zero(t, metricOf(t, base, events.MetricDropped), "nothing was dropped")
	status, body = testkit.HTTPDo(t, http.MethodPost, base+"/v1/credentials/"+refused, "", nil)
	require.Equal(t, http.StatusCreated, status, "the refused credential, tried again: %s", body)
	made = append(made, refused)
	for _, c := range clients[:3] { // the clients never noticed
		c.Send("130 ok\n")
		c.ExpectClosed("190 protocol error")
	}
	api := adminClient(t, base)
	connected := func(evs []events.Event) int {
		k := 0
		for _, e := range evs {
			if e.Type == events.TypeConnected && strings.HasPrefix(e.CID, "full-") {
				k++
			}
		}
		return k
	}
	before := allEvents(t, api, admin.EventsFilter{})
	require.Equal(t, n, connected(before), "every event of the outage is in the log")
	for i, e := range before {
		require.Equal(t, uint64(i+1), e.Seq, "seqs have no gap")
	}

	// SIGTERM, check both files, restart: everything reads back.
	require.Zero(t, p.Stop(t), "serve exits cleanly:\n%s", p.LogText())
	assert.NotContains(t, p.LogText(), "giving up on the queued events")
	for _, f := range []string{events.FileName, "identity.db"} {
		checkBolt(t, filepath.Join(dataDir, f))
	}
	p = testkit.Serve(t, env, serveArgs(dataDir)...)
	base = p.AdminURL(t)
	after := allEvents(t, adminClient(t, base), admin.EventsFilter{})
	require.GreaterOrEqual(t, len(after), len(before))
	assert.Equal(t, before, after[:len(before)], "the log reads back as it was")
	for _, cid := range made {
		status, body = testkit.HTTPGet(t, base+"/v1/credentials/"+cid)
		assert.Equal(t, http.StatusOK, status, "%s: %s", cid, body)
	}
}

// checkBolt runs bbolt's consistency check over the file at path.
func checkBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	require.NoError(t, err, path)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}), path)
}

// logCount waits until the process has logged msg (its stderr is read by
// another goroutine, a moment after the state it reports is visible) and
// counts the lines that say it.
func logCount(t *testing.T, p *testkit.Served, msg string) int {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.LogText(), msg) }, waitFor, 20*time.Millisecond, "logged: %s", msg)
	return strings.Count(p.LogText(), msg)
}
