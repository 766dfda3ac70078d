package admin_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// docs/events.md: "A client the log and the registry do not know is a
// 404". One the registry knows and the log has no session of (its
// sessions fell out of the log, or it connected before the log was on)
// is 200 with an empty list, [] and not null; a valid ID neither knows is
// 404 (mutation audit: dropping either branch of History passed).
func TestHistoryOfAClientTheLogDoesNotKnow(t *testing.T) {
	t.Parallel()
	l, err := events.Open(filepath.Join(t.TempDir(), events.FileName))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	s := newStack(t, stackConfig{apiOpts: []admin.Option{admin.WithEvents(l)}})
	s.connect(t, "pos-1")

	r := s.call(t, http.MethodGet, "/v1/clients/pos-1/history", "")
	require.Equal(t, http.StatusOK, r.status, "a client the registry knows: %s", r.body)
	assert.JSONEq(t, `{"sessions": []}`, string(r.body))

	r = s.call(t, http.MethodGet, "/v1/clients/pos-2/history", "")
	assert.Equal(t, http.StatusNotFound, r.status, "a client nobody knows: %s", r.body)
	assert.Contains(t, r.errorText(t), `"pos-2"`)
}

// docs/events.md: history's limit is "at most 1000, a larger one read
// so": a client with more sessions than that gets 1000 for any larger
// limit (the existing page test has 25 sessions, under either bound).
func TestHistoryReadsALargerLimitAsAThousand(t *testing.T) {
	t.Parallel()
	l, base := eventsAPI(t)
	for i := range 1001 {
		require.True(t, l.Append(events.Event{Type: events.TypeConnected, CID: "h", Session: fmt.Sprintf("h%d", i)}))
	}
	waitNewest(t, l, 1001)
	var h struct {
		Sessions []struct {
			Session string `json:"session"`
		} `json:"sessions"`
	}
	for _, q := range []string{"?limit=1000", "?limit=1001", "?limit=99999999999999999999999"} {
		r := send(t, base, request{path: "/v1/clients/h/history" + q})
		require.Equal(t, http.StatusOK, r.status, "%s: %s", q, r.body)
		r.decode(t, &h)
		require.Len(t, h.Sessions, 1000, q)
		assert.Equal(t, "h1000", h.Sessions[0].Session, "newest first")
		assert.Equal(t, "h1", h.Sessions[999].Session, q)
	}
}
