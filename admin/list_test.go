package admin_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

func TestRecordJSONHasExactlyTheSpecFields(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	before := time.Now().UTC().Truncate(time.Second)
	s.connect(t, "pos-0042")
	s.connect(t, "pos-0043")
	s.leave(t, "pos-0043")

	r := s.call(t, http.MethodGet, "/v1/clients/pos-0042", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var raw map[string]any
	r.decode(t, &raw)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"cid", "cip", "connected_at", "cport", "cstatus", "disconnected_at", "last_seen", "reason", "sid"}, keys)
	assert.Equal(t, "pos-0042", raw["cid"])
	assert.Equal(t, "127.0.0.1", raw["cip"])
	assert.IsType(t, "", raw["cport"], "cport is a string")
	assert.NotEmpty(t, raw["cport"])
	assert.Equal(t, true, raw["cstatus"])
	assert.Greater(t, raw["sid"], float64(0))
	assert.Nil(t, raw["disconnected_at"], "null while connected")
	assert.Equal(t, "", raw["reason"], "empty while connected")
	for _, k := range []string{"connected_at", "last_seen"} {
		ts, ok := raw[k].(string)
		require.True(t, ok, k)
		assert.True(t, strings.HasSuffix(ts, "Z"), "%s is UTC: %s", k, ts)
		parsed, err := time.Parse(time.RFC3339, ts)
		require.NoError(t, err, k)
		assert.False(t, parsed.Before(before), "%s %s is now", k, ts)
	}

	var rec admin.ClientRecord
	r = s.call(t, http.MethodGet, "/v1/clients/pos-0043", "")
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &rec)
	assert.False(t, rec.CStatus)
	assert.Equal(t, "closed by client", rec.Reason)
	require.NotNil(t, rec.DisconnectedAt)
	_, err := time.Parse(time.RFC3339, *rec.DisconnectedAt)
	assert.NoError(t, err)
}

func TestGetUnknownAndInvalidClient(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	r := s.call(t, http.MethodGet, "/v1/clients/nobody", "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, `no client "nobody"`, r.errorText(t))

	// An ID no client can have: INTERFACE.md's "the record, or 404", the
	// error saying why.
	r = s.call(t, http.MethodGet, "/v1/clients/"+url.PathEscape("has space"), "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.errorText(t), `no client "has space": not a valid client id (1 to 64 bytes`)
	r = s.call(t, http.MethodGet, "/v1/clients/"+strings.Repeat("x", 65), "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, r.errorText(t), "not a valid client id")
}

func listAll(t *testing.T, s *stack, query string) admin.ListResponse {
	t.Helper()
	r := s.call(t, http.MethodGet, "/v1/clients"+query, "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var lr admin.ListResponse
	r.decode(t, &lr)
	return lr
}

func cids(recs []admin.ClientRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.CID
	}
	return out
}

func TestListStatusFilter(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	s.connect(t, "a-1")
	s.connect(t, "c-3")
	s.connect(t, "b-2")
	s.leave(t, "b-2")

	assert.Equal(t, []string{"a-1", "b-2", "c-3"}, cids(listAll(t, s, "").Clients), "all is the default")
	assert.Equal(t, []string{"a-1", "b-2", "c-3"}, cids(listAll(t, s, "?status=all").Clients))
	assert.Equal(t, []string{"a-1", "c-3"}, cids(listAll(t, s, "?status=connected").Clients))
	dis := listAll(t, s, "?status=disconnected")
	assert.Equal(t, []string{"b-2"}, cids(dis.Clients))
	assert.Equal(t, "", dis.Next, "one page: no next")

	// An empty registry lists as [] (not null), for scripts.
	empty := newStack(t, stackConfig{})
	r := empty.call(t, http.MethodGet, "/v1/clients", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"clients": [], "next": ""}`, string(r.body))
}

func TestListRejectsBadParameters(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	validButBad := base64.RawURLEncoding.EncodeToString([]byte("not an id"))
	for _, q := range []string{
		"?status=online", "?status=CONNECTED",
		"?limit=0", "?limit=-1", "?limit=abc", "?limit=1.5",
		"?cursor=!!!", "?cursor=" + validButBad,
	} {
		r := s.call(t, http.MethodGet, "/v1/clients"+q, "")
		assert.Equal(t, http.StatusBadRequest, r.status, q)
		msg := r.errorText(t)
		switch {
		case strings.Contains(q, "status"):
			assert.Contains(t, msg, "want connected, disconnected or all", q)
		case strings.Contains(q, "limit"):
			assert.Contains(t, msg, "want a whole number from 1 (at most 1000 a page)", q)
		default:
			assert.Contains(t, msg, "cursor", q)
		}
	}
	// A query that does not parse is refused, not read without the pair
	// it could not parse (a cursor lost that way restarted the listing).
	for _, path := range []string{"/v1/clients?cursor=%%%", "/v1/events?after=1&type=%zz", "/v1/bans?limit=1;2"} {
		r := s.call(t, http.MethodGet, path, "")
		assert.Equal(t, http.StatusBadRequest, r.status, path)
		assert.Contains(t, r.errorText(t), "query: ", path)
	}
	// A parameter given twice was read once, its other value dropped
	// without a word (audit); type is a list and may repeat.
	for path, name := range map[string]string{"/v1/clients?status=disconnected&status=connected": "status",
		"/v1/clients?limit=2&limit=3": "limit", "/v1/events?after=0&limit=3&limit=1": "limit"} {
		r := s.call(t, http.MethodGet, path, "")
		assert.Equal(t, http.StatusBadRequest, r.status, path)
		assert.Contains(t, r.errorText(t), `query: "`+name+`" is given 2 times; give it once`, path)
	}
	assert.NotContains(t, s.call(t, http.MethodGet, "/v1/events?type=client.connected&type=client.disconnected", "").body, "is given")
	// A parameter the API does not read, a typo, answered as if no filter
	// was asked: every record, disconnected ones too; an empty one as if
	// not given (found by the interface audit).
	for path, want := range map[string]string{
		"/v1/clients?staus=connected":  `query: unknown parameter "staus" (GET /v1/clients reads status, prefix, limit, cursor)`,
		"/v1/clients?Status=connected": `unknown parameter "Status"`,
		"/v1/events?limt=5":            `unknown parameter "limt"`,
		"/v1/clients?token=x":          "the token goes in the Authorization header",
		"/v1/clients?api_key=x":        "the token goes in the Authorization header",
		"/v1/clients?authorization=x":  "the token goes in the Authorization header",
		"/v1/clients?limit=":           `query: "limit" is empty: give it a value, or leave it out`,
		"/v1/events?after=&limit=1":    `"after" is empty`,
		"/v1/bans?kind=&limit=1":       `"kind" is empty`,
		// Each endpoint takes what it reads, not what another does: one
		// list for the whole API let these through (audit).
		"/v1/events?cursor=abc":       `unknown parameter "cursor" (GET /v1/events reads after, limit, type, cid, wait)`,
		"/v1/events?status=connected": `unknown parameter "status" (GET /v1/events reads`,
		"/v1/clients?after=5":         `unknown parameter "after" (GET /v1/clients reads`,
		"/v1/clients?wait=xyz":        `unknown parameter "wait" (GET /v1/clients reads`,
		"/v1/clients/p0?limit=abc":    `unknown parameter "limit" (GET /v1/clients/{cid} reads no parameters)`,
		"/v1/health?status=bogus":     `unknown parameter "status" (GET /v1/health reads no parameters)`,
		"/v1/events/stream?limit=5":   `unknown parameter "limit" (GET /v1/events/stream reads after, type, cid)`,
	} {
		r := s.call(t, http.MethodGet, path, "")
		assert.Equal(t, http.StatusBadRequest, r.status, path)
		assert.Contains(t, r.errorText(t), want, path)
	}
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/v1/clients?status=connected&limit=5&prefix=a", "").status)
	// A command takes no parameter: POST /v1/shutdown?cid=x, meant for one
	// client, would have told every one.
	r := s.call(t, http.MethodPost, "/v1/shutdown?cid=p0", "")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, `query: unknown parameter "cid" (POST /v1/shutdown reads no parameters)`, r.errorText(t),
		"the token's hint only where the name is about a token")
	assert.NotEqual(t, http.StatusBadRequest, s.call(t, http.MethodGet, "/metrics?x=1", "").status, "outside /v1/ as before")
	assert.Equal(t, http.StatusOK, s.call(t, http.MethodGet, "/healthz?nocache=", "").status, "an empty value too: a probe's cache-buster")
	// The plain method refuses the same limits, and takes more than a
	// page as a full page.
	_, err := s.api.ListClients(registry.Query{Limit: -1})
	assert.ErrorIs(t, err, admin.ErrBadRequest)
	_, err = s.api.ListClients(registry.Query{Limit: 1001})
	assert.NoError(t, err)
}

// Pages are by cid, so clients joining and leaving between two pages never
// shift the others: a record present throughout shows up exactly once, a
// client joining after the cursor shows up, one joining before it does not.
func TestPaginationAcrossPageBoundaryWithChurn(t *testing.T) {
	t.Parallel()
	for _, status := range []string{"all", "connected"} {
		t.Run(status, func(t *testing.T) {
			s := newStack(t, stackConfig{})
			for i := range 10 {
				s.connect(t, fmt.Sprintf("c%02d", i))
			}
			page1 := listAll(t, s, "?limit=4&status="+status)
			require.Equal(t, []string{"c00", "c01", "c02", "c03"}, cids(page1.Clients))
			require.NotEmpty(t, page1.Next)

			// Between pages: one already listed leaves, one not yet listed
			// leaves, one joins after the cursor, one before it.
			s.leave(t, "c01")
			s.leave(t, "c06")
			s.connect(t, "c03a")
			s.connect(t, "a-early")

			seen := cids(page1.Clients)
			next := page1.Next
			pages := 1
			for next != "" {
				p := listAll(t, s, "?limit=4&status="+status+"&cursor="+url.QueryEscape(next))
				seen = append(seen, cids(p.Clients)...)
				next = p.Next
				pages++
				require.Less(t, pages, 10, "pagination does not end")
			}
			want := []string{"c00", "c01", "c02", "c03", "c03a", "c04", "c05", "c06", "c07", "c08", "c09"}
			if status == "connected" {
				want = []string{"c00", "c01", "c02", "c03", "c03a", "c04", "c05", "c07", "c08", "c09"}
			}
			assert.Equal(t, want, seen, "each present record once, in order; the newcomer after the cursor seen")
			assert.Equal(t, 3, pages)
		})
	}
}

// A page that ends exactly on the last record still says there may be
// more only when there is.
func TestPaginationExactPage(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for i := range 4 {
		s.connect(t, fmt.Sprintf("e%d", i))
	}
	p := listAll(t, s, "?limit=4")
	assert.Len(t, p.Clients, 4)
	assert.Equal(t, "", p.Next)
	p = listAll(t, s, "?limit=2")
	require.NotEmpty(t, p.Next)
	p = listAll(t, s, "?limit=2&cursor="+p.Next)
	assert.Equal(t, []string{"e2", "e3"}, cids(p.Clients))
	assert.Equal(t, "", p.Next)
}

// A limit over the most a page holds is a full page and its cursor, not
// an error: a tool that asks for all 20,000 clients at once pages on.
func TestListLimitOverTheMostIsAFullPage(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for i := range registry.MaxPageLimit + 1 {
		s.connect(t, fmt.Sprintf("m%04d", i))
	}
	p := listAll(t, s, "?limit=20000")
	require.Len(t, p.Clients, registry.MaxPageLimit)
	require.NotEmpty(t, p.Next)
	p = listAll(t, s, "?limit=20000&cursor="+url.QueryEscape(p.Next))
	assert.Equal(t, []string{fmt.Sprintf("m%04d", registry.MaxPageLimit)}, cids(p.Clients))
	assert.Empty(t, p.Next)
}

// ?prefix= on GET /v1/clients: only matching IDs, paged; a prefix longer
// than any client ID is a 400.
func TestListPrefixHTTP(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	for _, id := range []string{"pa-1", "pa-2", "pa-3", "pb-1"} {
		s.connect(t, id)
	}
	var page admin.ListResponse
	r := s.call(t, http.MethodGet, "/v1/clients?prefix=pa-&limit=2", "")
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &page)
	require.Len(t, page.Clients, 2)
	assert.Equal(t, "pa-1", page.Clients[0].CID)
	require.NotEmpty(t, page.Next)
	r = s.call(t, http.MethodGet, "/v1/clients?prefix=pa-&limit=2&cursor="+page.Next, "")
	r.decode(t, &page)
	require.Len(t, page.Clients, 1)
	assert.Equal(t, "pa-3", page.Clients[0].CID)
	assert.Empty(t, page.Next)

	r = s.call(t, http.MethodGet, "/v1/clients?prefix="+strings.Repeat("x", protocol.MaxClientID+1), "")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, r.errorText(t), "prefix")
}

// A prefix as long as a client ID may be is one whole client ID, and
// finds it: only a longer one is refused. Found by mutation: refusing a
// prefix of exactly protocol.MaxClientID bytes passed.
func TestListPrefixAsLongAsAClientID(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackConfig{})
	cid := strings.Repeat("x", protocol.MaxClientID)
	s.connect(t, cid)
	var page admin.ListResponse
	r := s.call(t, http.MethodGet, "/v1/clients?prefix="+cid, "")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r.decode(t, &page)
	require.Len(t, page.Clients, 1)
	assert.Equal(t, cid, page.Clients[0].CID)
}
