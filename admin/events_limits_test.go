package admin_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/events"
)

// EVENTS.md's page sizes: the log's default limit is 100 and its most
// 1000 (more is a clear 400); a client's history gives its last 20
// sessions unless told, newest first.
func TestEventsAndHistoryPageSizes(t *testing.T) {
	l, base := eventsAPI(t)
	for i := range 1001 {
		cid, session := fmt.Sprintf("c%d", i), fmt.Sprintf("s%d", i)
		if i < 50 { // 25 sessions of h, each connected then disconnected
			cid, session = "h", fmt.Sprintf("h%d", i/2)
		}
		typ := events.TypeConnected
		if i < 50 && i%2 == 1 {
			typ = events.TypeDisconnected
		}
		require.True(t, l.Append(events.Event{Type: typ, CID: cid, Session: session}))
	}
	waitNewest(t, l, 1001)

	a := getEvents(t, base, "after=0")
	require.Len(t, a.Events, 100, "the default limit")
	assert.EqualValues(t, 1, a.Events[0].Seq)
	assert.EqualValues(t, 100, *a.Next)
	a = getEvents(t, base, "")
	require.Len(t, a.Events, 100, "the newest 100 without after")
	assert.EqualValues(t, 902, a.Events[0].Seq)
	assert.EqualValues(t, 1001, *a.Next)
	a = getEvents(t, base, "after=0&limit=1000")
	require.Len(t, a.Events, 1000, "the most")
	assert.EqualValues(t, 1000, *a.Next)
	// More than the most is read as the most (EVENTS.md: "at most 1000"):
	// a full page and its next, not an error for asking too much.
	for _, q := range []string{"after=0&limit=1001", "after=0&limit=99999999999999999999999"} {
		a = getEvents(t, base, q)
		require.Len(t, a.Events, 1000, q)
		assert.EqualValues(t, 1000, *a.Next, q)
	}
	for _, q := range []string{"after=0&limit=0", "limit=-1", "limit=+5", "limit=1.5", "limit=ten"} {
		r := send(t, base, request{path: "/v1/events?" + q})
		assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", q, r.body)
		assert.Contains(t, r.errorText(t), "want a whole number from 1 (at most 1000 a page)", q)
	}

	var h struct {
		Sessions []struct {
			Session string `json:"session"`
		} `json:"sessions"`
	}
	r := send(t, base, request{path: "/v1/clients/h/history"})
	require.Equal(t, http.StatusOK, r.status, r.body)
	r.decode(t, &h)
	require.Len(t, h.Sessions, 20, "the default limit: %s", r.body)
	assert.Equal(t, "h24", h.Sessions[0].Session, "newest first")
	assert.Equal(t, "h5", h.Sessions[19].Session)
	r = send(t, base, request{path: "/v1/clients/h/history?limit=25"})
	r.decode(t, &h)
	assert.Len(t, h.Sessions, 25)
	r = send(t, base, request{path: "/v1/clients/h/history?limit=5000"})
	require.Equal(t, http.StatusOK, r.status, "the most, not an error: %s", r.body)
	r.decode(t, &h)
	assert.Len(t, h.Sessions, 25, "every session there is")
	r = send(t, base, request{path: "/v1/clients/h/history?limit=0"})
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = send(t, base, request{path: "/v1/clients/a%20b/history"})
	assert.Equal(t, http.StatusNotFound, r.status, "no client can have it")
	assert.Contains(t, r.errorText(t), `no client "a b": not a valid client id`)
}
