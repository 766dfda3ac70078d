package boltstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
)

func TestStoreRoundTripsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := Open(dir)
	require.NoError(t, err)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	prev := identity.Digest([]byte("old"))
	c := identity.Credential{CID: "pos-1", Digest: identity.Digest([]byte("new")), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Previous: &prev, PreviousValidUntil: &until}
	require.NoError(t, st.PutCredential(ctx, c))
	require.NoError(t, st.PutCredential(ctx, identity.Credential{CID: "gone", Digest: prev}))
	require.NoError(t, st.DeleteCredential(ctx, "gone"))
	require.NoError(t, st.DeleteCredential(ctx, "never-was"))
	b := identity.Ban{Kind: "net", Value: "10.1.0.0/16", Reason: "r", By: "operator", At: c.CreatedAt, Until: &until}
	require.NoError(t, st.PutBan(ctx, b))
	require.NoError(t, st.PutBan(ctx, identity.Ban{Kind: "ip", Value: "192.0.2.1", By: "operator", At: c.CreatedAt}))
	require.NoError(t, st.DeleteBan(ctx, identity.BanKey{Kind: "ip", Value: "192.0.2.1"}))
	require.NoError(t, st.Watch(ctx, func(identity.Change) { t.Fatal("a single node has no changes to watch") }))
	require.NoError(t, st.Close())

	st, err = Open(dir)
	require.NoError(t, err)
	defer st.Close()
	creds, bans, err := st.Load(ctx)
	require.NoError(t, err)
	require.Len(t, creds, 1)
	assert.Equal(t, c.CID, creds[0].CID)
	assert.Equal(t, c.Digest, creds[0].Digest)
	assert.Equal(t, *c.Previous, *creds[0].Previous)
	assert.True(t, c.PreviousValidUntil.Equal(*creds[0].PreviousValidUntil))
	require.Len(t, bans, 1)
	assert.Equal(t, b.Value, bans[0].Value)
	assert.True(t, b.Until.Equal(*bans[0].Until))
}

// ExpireBan deletes only the ban it was given: an expiry found before the
// ban of its key was made again leaves the new one, and a second expiry
// of a ban already gone deletes nothing.
func TestStoreExpireBanDeletesOnlyThatBan(t *testing.T) {
	st, err := Open(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	ended := time.Now().Add(-time.Minute).UTC()
	old := identity.Ban{Kind: identity.KindCID, Value: "dev-1", Reason: "r", By: identity.ByOperator, At: ended.Add(-time.Hour), Until: &ended}
	again := identity.Ban{Kind: identity.KindCID, Value: "dev-1", Reason: "again", By: identity.ByOperator, At: time.Now().UTC()}
	require.NoError(t, st.PutBan(ctx, old))
	require.NoError(t, st.PutBan(ctx, again))

	won, err := st.ExpireBan(ctx, old)
	require.NoError(t, err)
	assert.False(t, won, "the stale expiry deleted the ban made again")
	_, bans, err := st.Load(ctx)
	require.NoError(t, err)
	require.Len(t, bans, 1)
	assert.True(t, bans[0].Same(again), "the ban made again stays: %+v", bans[0])

	require.NoError(t, st.PutBan(ctx, old))
	won, err = st.ExpireBan(ctx, old)
	require.NoError(t, err)
	assert.True(t, won)
	won, err = st.ExpireBan(ctx, old)
	require.NoError(t, err)
	assert.False(t, won, "deleted once")
	_, bans, err = st.Load(ctx)
	require.NoError(t, err)
	assert.Empty(t, bans)
}

// Open creates a missing data dir, and the dirs above it, 0700 (Open's
// doc: the file holds digests and client addresses), whatever the umask
// lets through (mutant: MkdirAll with 0755).
func TestOpenMakesAMissingDataDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	st, err := Open(dir)
	require.NoError(t, err)
	defer st.Close()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), d)
	}
}
