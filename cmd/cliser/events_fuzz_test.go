package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/registry"
)

// FuzzTailFilter: `cliser events tail --type --cid` takes exactly what the
// server takes as ?type= and ?cid= (a real admin API over an event log,
// asked the raw values): what the CLI refuses is a configError naming the
// flag, and what it takes the server answers through the client, so a
// tail never loops on a 400. Seeded with the usage table's tail mistakes.
func FuzzTailFilter(f *testing.F) {
	httpc := &http.Client{Timeout: 5 * time.Second}
	hs := startEventsAPI(f)
	c, err := admin.NewClient(hs.Addr(), "", 5*time.Second)
	require.NoError(f, err)

	for _, u := range usageMistakes(f)["cliser events tail"] {
		if i := slices.Index(u.args, "--type"); i >= 0 {
			f.Add(u.args[i+1], "")
		}
		if i := slices.Index(u.args, "--cid"); i >= 0 {
			f.Add("", u.args[i+1])
		}
	}
	f.Add(strings.Join(events.Types, ","), "pos-0042")
	f.Add(" client.connected ,, ban.created", "a:b@c.d_e-f")
	f.Add("client.connected", strings.Repeat("x", 300))
	f.Fuzz(func(t *testing.T, types, cid string) {
		filter, err := tailFilter(types, cid)
		q := url.Values{}
		if types != "" {
			q.Set("type", types)
		}
		if cid != "" {
			q.Set("cid", cid)
		}
		resp, herr := httpc.Get("http://" + hs.Addr() + "/v1/events?" + q.Encode())
		if herr != nil {
			t.Fatal(herr)
		}
		resp.Body.Close()
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) || (!strings.HasPrefix(err.Error(), "--type ") && !strings.HasPrefix(err.Error(), "--cid ")) {
				t.Fatalf("--type %q --cid %q: %v is no configError naming the flag", types, cid, err)
			}
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("--type %q --cid %q refused (%v), the server answers %d", types, cid, err, resp.StatusCode)
			}
			return
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("--type %q --cid %q taken, the server answers %d", types, cid, resp.StatusCode)
		}
		for _, typ := range filter.Types {
			if !slices.Contains(events.Types, typ) {
				t.Fatalf("--type %q taken as %q", types, typ)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := c.Events(ctx, nil, 1, filter, 0); err != nil {
			t.Fatalf("--type %q --cid %q taken as %+v, which the server refuses: %v", types, cid, filter, err)
		}
	})
}

// startEventsAPI serves a real admin API over an empty event log on
// 127.0.0.1:0 until the test ends.
func startEventsAPI(tb testing.TB) *admin.Server {
	l, err := events.Open(filepath.Join(tb.TempDir(), events.FileName))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = l.Close() })
	hs, err := admin.New(registry.New(), admin.WithEvents(l)).Listen("127.0.0.1:0")
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = hs.Shutdown(testkit.Context(tb, 10*time.Second)) })
	return hs
}
