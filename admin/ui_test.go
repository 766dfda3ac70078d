package admin_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// noEvents is an event log with nothing in it: enough for the API to
// say it keeps one.
type noEvents struct{}

func (noEvents) Read(context.Context, uint64, int) ([]events.Event, error) { return nil, nil }
func (noEvents) Wait(ctx context.Context, _ uint64) error                  { <-ctx.Done(); return ctx.Err() }
func (noEvents) Newest() uint64                                            { return 0 }

// The dashboard reads /ui/config.json before its first call, with no
// token: whether to ask for one (instead of a 401 in the browser's
// console) and whether to follow the event stream (instead of its 404).
func TestUIConfigTellsThePageWhatItNeedsWithoutAToken(t *testing.T) {
	t.Parallel()
	files := admin.WithUI(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("file")) }))
	for _, c := range []struct {
		token  string
		events bool
	}{{"", false}, {"ui-config-token", true}} {
		opts := []admin.Option{files, admin.WithAllowedHosts("ops.example")}
		if c.events {
			opts = append(opts, admin.WithEvents(noEvents{}))
		}
		s := newStack(t, stackConfig{token: c.token, apiOpts: opts})
		r := s.send(t, request{path: admin.UIConfigPath}) // no token
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var got admin.UIConfig
		r.decode(t, &got)
		assert.Equal(t, admin.UIConfig{Token: c.token != "", Events: c.events}, got, "no WithNodes: not a cluster")
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
		assert.Contains(t, r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		// The Host guard holds for it as for the files.
		port := s.base[strings.LastIndex(s.base, ":")+1:]
		assert.Equal(t, http.StatusForbidden, s.send(t, request{path: admin.UIConfigPath, host: "evil.example:" + port}).status)
		assert.Equal(t, http.StatusOK, s.send(t, request{path: admin.UIConfigPath, host: "ops.example:" + port}).status)
		assert.Equal(t, http.StatusMethodNotAllowed, s.send(t, request{method: http.MethodPost, path: admin.UIConfigPath}).status)
	}
	// Without the dashboard there is no such path: the token check, then 404.
	s := newStack(t, stackConfig{})
	assert.Equal(t, http.StatusNotFound, s.send(t, request{path: admin.UIConfigPath}).status)
	s = newStack(t, stackConfig{token: "ui-config-token"})
	assert.Equal(t, http.StatusUnauthorized, s.send(t, request{path: admin.UIConfigPath}).status)
}
