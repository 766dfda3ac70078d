package boltstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/fsx"
	"github.com/cliser/cliser/internal/testkit"
)

// The data dir removed under a running store (rm -rf, a tmp cleaner):
// bbolt's writes went on into the unlinked file, and the next start found
// no credential. The store puts its file back, with every write, and
// says so while it cannot.
func TestStoreKeepsItsFileWhenTheDataDirIsRemoved(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, FileName)
	core, logs := observer.New(zapcore.InfoLevel)
	st, err := Open(dir, WithLogger(zap.New(core)), WithCheckEvery(10*time.Millisecond))
	require.NoError(t, err)
	closed := false
	defer func() {
		if !closed {
			_ = st.Close()
		}
	}()
	cred := func(cid string) identity.Credential {
		return identity.Credential{CID: cid, Digest: identity.Digest([]byte(cid)), CreatedAt: time.Now().UTC().Truncate(time.Second)}
	}
	require.NoError(t, st.PutCredential(ctx, cred("before")))

	// Removed, and a file where the dir was: the store cannot put it back
	// yet, and says so, while writes still succeed.
	testkit.SwapDirForFile(t, dir, []byte("in the way"))
	require.NoError(t, st.PutCredential(ctx, cred("while-lost")))
	require.Eventually(t, func() bool {
		err := st.Healthy()
		return err != nil && strings.Contains(err.Error(), "restoring it failed")
	}, 5*time.Second, 5*time.Millisecond, "the failed restore in Healthy")
	msg := st.Healthy().Error()
	assert.Contains(t, msg, path)
	assert.Contains(t, msg, "restoring it failed")
	assert.Contains(t, msg, "credentials and bans written since then reach no file a restart reads")
	assert.Equal(t, 1.0, testutil.ToFloat64(st.lost), "counted once for the episode")
	require.NoError(t, st.PutBan(ctx, identity.Ban{Kind: "ip", Value: "192.0.2.7", By: "operator", At: time.Now().UTC()}))

	// The way cleared: the next check puts it back, with both writes.
	require.NoError(t, os.Remove(dir))
	require.Eventually(t, func() bool { return st.Healthy() == nil }, 5*time.Second, 5*time.Millisecond, "the file put back")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	assert.Equal(t, 1, logs.FilterMessageSnippet("its file left the data dir while open").Len(), "logged once")
	assert.Equal(t, 1, logs.FilterMessageSnippet("restoring its file failed").Len(), "logged once")
	assert.Equal(t, 1, logs.FilterMessageSnippet("its file is back at its path").Len())

	// Written to the file put back, which is locked again: a second
	// store on the dir is refused.
	require.NoError(t, st.PutCredential(ctx, cred("after")))
	f, err := os.Open(path)
	require.NoError(t, err)
	require.ErrorIs(t, fsx.Lock(f, 0), syscall.EWOULDBLOCK, "the file put back is locked again")
	require.NoError(t, f.Close())

	// Removed again, then written once: the write's own check puts it
	// back before the call returns.
	testkit.RemoveUnderWriter(t, dir) // its checks run meanwhile
	require.NoError(t, st.PutCredential(ctx, cred("last")))
	_, err = os.Stat(path)
	require.NoError(t, err, "back once the write returned")
	assert.Equal(t, 2.0, testutil.ToFloat64(st.lost))

	closed = true
	require.NoError(t, st.Close())

	st, err = Open(dir)
	require.NoError(t, err)
	defer st.Close()
	creds, bans, err := st.Load(ctx)
	require.NoError(t, err)
	var cids []string
	for _, c := range creds {
		cids = append(cids, c.CID)
	}
	assert.ElementsMatch(t, []string{"before", "while-lost", "after", "last"}, cids)
	require.Len(t, bans, 1)
	assert.Equal(t, "192.0.2.7", bans[0].Value)
}

// Close puts back a file removed since the last check, so that a
// graceful stop keeps every write; one that cannot fails, naming it: a
// stop that loses credentials is not a clean one.
func TestStoreClosePutsTheFileBack(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	st, err := Open(dir, WithCheckEvery(time.Hour))
	require.NoError(t, err)
	require.NoError(t, st.PutCredential(ctx, identity.Credential{CID: "a"}))
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, st.Close())
	st, err = Open(dir, WithCheckEvery(time.Hour))
	require.NoError(t, err)
	_, found, err := st.Credential(ctx, "a")
	require.NoError(t, err)
	require.True(t, found, "written before the removal, kept by Close")

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600))
	err = st.Close()
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(dir, FileName))
	assert.Contains(t, err.Error(), "restoring it failed")
}
