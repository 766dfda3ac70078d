package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/events"
)

// An operator's credential or ban answered 2xx is on disk before its
// answer, and so is its event: a kill -9 right after the answer kept
// the credential or the ban and lost its credential.created, ban.created
// or credential.deleted (the crash audit lost it after every one of 9
// such kills), so a consumer of the log never heard of a change the
// server holds.
func TestEventsBinaryOperatorChangeKeepsItsEventAfterAKill(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for range 3 {
		p, api := eventsServer(t, dir)
		_, err := api.CreateCredential(ctx, "enrolled", "")
		require.NoError(t, err)
		require.NoError(t, p.Cmd.Process.Kill())
		p.WaitExit(t)

		p, api = eventsServer(t, dir)
		_, err = api.CreateBan(ctx, admin.BanRequest{Kind: "cid", Value: "banned-one", Reason: "audit"})
		require.NoError(t, err)
		require.NoError(t, p.Cmd.Process.Kill())
		p.WaitExit(t)

		p, api = eventsServer(t, dir)
		require.NoError(t, api.DeleteCredential(ctx, "enrolled"))
		require.NoError(t, p.Cmd.Process.Kill())
		p.WaitExit(t)

		p, api = eventsServer(t, dir)
		require.NoError(t, api.DeleteBan(ctx, "cid", "banned-one"))
		require.NoError(t, p.Cmd.Process.Kill())
		p.WaitExit(t)
	}
	_, api := eventsServer(t, dir)
	counts := map[string]int{}
	for _, ev := range allEvents(t, api, admin.EventsFilter{}) {
		counts[ev.Type]++
	}
	for _, typ := range []string{events.TypeCredentialCreated, events.TypeBanCreated, events.TypeCredentialDeleted, events.TypeBanDeleted} {
		assert.Equal(t, 3, counts[typ], "%s: every acknowledged change keeps its event", typ)
	}
}
