package identity_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
)

// GET /v1/bans pages with limit and cursor (IDENTITY.md): every page holds
// at most limit bans, by kind then value, the next starts after the last
// one's key (no ban twice, none skipped), a page filled exactly is the
// last, and ?kind= keeps to its kind. Found by mutating page.go and
// Service.Bans: no test read a second page.
func TestBansPageByKindThenValue(t *testing.T) {
	s := start(t, t.TempDir(), &recorder{})
	ctx := t.Context()
	for _, b := range [][2]string{{"net", "10.2.0.0/16"}, {"ip", "192.0.2.9"}, {"cid", "dev-b"}, {"ip", "192.0.2.1"}, {"cid", "dev-a"}} {
		_, err := s.AddBan(ctx, b[0], b[1], "", time.Hour)
		require.NoError(t, err)
	}
	var got []string
	after := identity.BanKey{}
	for pages := 1; ; pages++ {
		require.LessOrEqual(t, pages, 3, "5 bans, 2 a page")
		page, more := s.Bans("", after, 2)
		require.LessOrEqual(t, len(page), 2, "a page holds at most limit")
		for _, b := range page {
			got = append(got, b.Key().String())
		}
		if !more {
			break
		}
		after = page[len(page)-1].Key()
	}
	assert.Equal(t, []string{"cid/dev-a", "cid/dev-b", "ip/192.0.2.1", "ip/192.0.2.9", "net/10.2.0.0/16"}, got)

	all, more := s.Bans("", identity.BanKey{}, 5)
	assert.Len(t, all, 5)
	assert.False(t, more, "a page filled exactly is the last")
	ips, more := s.Bans(identity.KindIP, identity.BanKey{}, 10)
	assert.False(t, more)
	require.Len(t, ips, 2)
	assert.Equal(t, []string{"192.0.2.1", "192.0.2.9"}, []string{ips[0].Value, ips[1].Value})
}
