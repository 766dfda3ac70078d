package webhook

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cliser/cliser/internal/testkit"
)

func TestWithoutUserInfo(t *testing.T) {
	for in, want := range map[string]string{
		"https://hook:pass-v1@hooks.example/cliser?x=1": "https://hooks.example/cliser?x=1",
		"https://a:b@c@hooks.example:8443":              "https://hooks.example:8443",
		"https://hooks.example/p@th?q=a@b#f@g":          "https://hooks.example/p@th?q=a@b#f@g",
		"https://hooks.example/a%20b":                   "https://hooks.example/a%20b", // as written, not re-encoded
		"not a url":                                     "not a url",
	} {
		assert.Equal(t, want, withoutUserInfo(in), in)
	}
}

// A password changed in the URL is the same receiver: its cursor is kept,
// and delivery resumes after what it acknowledged. It used to be a new
// webhook, which skipped every event not yet acknowledged (events audit).
func TestFileCursorKeptWhenTheURLsPasswordChanges(t *testing.T) {
	dir := t.TempDir()
	c := openCursor(t, dir, "http://hook:pass-v1@127.0.0.1:1/hook")
	require.NoError(t, c.Save(t.Context(), State{Acked: 10}))
	require.NoError(t, c.Close())

	c = openCursor(t, dir, "http://hook:pass-v2@127.0.0.1:1/hook")
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found, "the same receiver")
	assert.Equal(t, State{Acked: 10}, st)
	require.NoError(t, c.Close())

	c = openCursor(t, dir, "http://hook:pass-v2@127.0.0.1:1/other")
	_, found, err = c.Load(t.Context())
	require.NoError(t, err)
	assert.False(t, found, "another receiver is a new webhook")
	require.NoError(t, c.Close())
}

// A cursor file an older build named after the whole URL is renamed and
// read: an upgrade does not begin a webhook with a password afresh.
func TestFileCursorOfAnOlderBuildIsTakenOver(t *testing.T) {
	const url = "http://hook:pass@127.0.0.1:1/hook"
	dir := t.TempDir()
	c := openCursor(t, dir, url)
	require.NoError(t, c.Save(t.Context(), State{Acked: 42}))
	require.NoError(t, c.Close())
	oldPath := filepath.Join(dir, "webhook-"+oldCursorHash(url)+".cursor")
	require.NotEqual(t, CursorFile(url), filepath.Base(oldPath))
	require.NoError(t, os.Rename(filepath.Join(dir, CursorFile(url)), oldPath)) // as the older build left it

	c = openCursor(t, dir, url)
	st, found, err := c.Load(t.Context())
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, State{Acked: 42}, st)
	require.NoError(t, c.Close())
	assert.NoFileExists(t, oldPath)
	assert.FileExists(t, filepath.Join(dir, CursorFile(url)))
}

// The cluster's cursor: a key an older build wrote under the whole URL's
// hash is read, and the next save stores it under the receiver's.
func TestKVCursorOfAnOlderBuildIsTakenOver(t *testing.T) {
	natsURL, ctx := natsFor(t)
	_, js := testkit.JetStream(t, natsURL)
	const url = "http://hook:pass-v1@127.0.0.1:1/hook"
	c, err := NewKVCursor(ctx, js, url, 1)
	require.NoError(t, err)
	val, err := encodeState(State{Acked: 9})
	require.NoError(t, err)
	_, err = c.kv.Put(ctx, oldCursorKey(url), val) // as the older build left it
	require.NoError(t, err)

	c2, err := NewKVCursor(ctx, js, "http://hook:pass-v2@127.0.0.1:1/hook", 1)
	require.NoError(t, err)
	_, found, err := c2.Load(ctx)
	require.NoError(t, err)
	assert.False(t, found, "the old key is the v1 URL's: another password's old key is not looked for")

	st, found, err := c.Load(ctx)
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, State{Acked: 9}, st)
	require.NoError(t, c.Save(ctx, State{Acked: 11}))
	st, found, err = c2.Load(ctx)
	require.NoError(t, err)
	require.True(t, found, "saved under the receiver's key, which a changed password finds")
	assert.Equal(t, State{Acked: 11}, st)
	_, err = c.kv.Get(ctx, cursorKey(url))
	require.NotErrorIs(t, err, jetstream.ErrKeyNotFound)
}

// A cursor new to its URL beside another URL's says so: a password
// changed in the URL together with an upgrade finds neither name, and the
// webhook began afresh without a word (late audit).
func TestNewCursorBesideAnotherURLsWarns(t *testing.T) {
	dir := t.TempDir()
	c := openCursor(t, dir, "http://hook:pw1@127.0.0.1:1/hook")
	require.NoError(t, c.Save(t.Context(), State{Acked: 10}))
	require.NoError(t, c.Close())
	first := filepath.Join(dir, CursorFile("http://hook:pw1@127.0.0.1:1/hook"))

	core, logs := observer.New(zap.WarnLevel)
	c2, err := OpenFileCursor(dir, "http://127.0.0.1:1/other", CursorLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, c2.Close())
	warned := logs.FilterMessageSnippet("new for this URL while the data dir holds another URL's").All()
	require.Len(t, warned, 1)
	assert.Equal(t, []any{first}, warned[0].ContextMap()["others"])

	core, logs = observer.New(zap.WarnLevel)
	c3, err := OpenFileCursor(dir, "http://127.0.0.1:1/other", CursorLogger(zap.New(core)))
	require.NoError(t, err)
	require.NoError(t, c3.Close())
	assert.Zero(t, logs.Len(), "a cursor found is no new one")
}
