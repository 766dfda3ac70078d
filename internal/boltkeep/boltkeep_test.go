package boltkeep

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func openDB(path string) (*bolt.DB, error) {
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: 50 * time.Millisecond})
}

func put(t *testing.T, db *bolt.DB, k string) {
	t.Helper()
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("b"))
		if err != nil {
			return err
		}
		return b.Put([]byte(k), []byte(k))
	}))
}

func keys(t *testing.T, path string) []string {
	t.Helper()
	db, err := openDB(path)
	require.NoError(t, err)
	defer db.Close()
	var out []string
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("b")).ForEach(func(k, _ []byte) error { out = append(out, string(k)); return nil })
	}))
	return out
}

// A file put in the place of the open one (a backup moved in, a new
// empty one) is moved aside, not overwritten, unless another process
// holds its lock: that is a second server on the dir, whose writes a
// restore would hide as ours were.
func TestRestoreOverAReplacingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := openDB(path)
	require.NoError(t, err)
	lost := prometheus.NewCounter(prometheus.CounterOpts{Name: "lost"})
	k, err := New(path, "x store", "things", nil, lost)
	require.NoError(t, err)
	defer func() { _ = k.Close() }()
	put(t, db, "mine")
	require.False(t, k.Check())

	// Replaced by a file another holds.
	require.NoError(t, os.Rename(path, path+".old"))
	other, err := openDB(path)
	require.NoError(t, err)
	put(t, other, "theirs")
	require.True(t, k.Check())
	assert.Equal(t, 1.0, testutil.ToFloat64(lost))
	require.Same(t, db, k.Restore(db, openDB), "not restored over a held file")
	err = k.Healthy()
	require.ErrorIs(t, err, ErrHeld)
	assert.Contains(t, err.Error(), "replaced in the data dir by another file")
	require.NoError(t, other.Close())

	// Let go of: the next try waits after the failed one; then it is
	// moved aside, and ours put back.
	put(t, db, "later")
	require.Same(t, db, k.Restore(db, openDB), "a second after the failed restore")
	ndb := k.RestoreNow(db, openDB)
	require.NotSame(t, db, ndb)
	defer ndb.Close()
	require.NoError(t, k.Healthy())
	require.False(t, k.Check())
	assert.Equal(t, 1, k.Restores())
	asides, err := filepath.Glob(path + ".replaced-*")
	require.NoError(t, err)
	require.Len(t, asides, 1)
	assert.Equal(t, []string{"theirs"}, keys(t, asides[0]))
	put(t, ndb, "after")
	require.NoError(t, ndb.Close())
	assert.Equal(t, []string{"after", "later", "mine"}, keys(t, path))
	_, err = os.Stat(path + ".restore")
	require.ErrorIs(t, err, os.ErrNotExist, "no temporary file left")
}

// Failed restores are each a copy of the whole file: the wait between
// them doubles from CheckEvery up to maxRetryWait.
func TestRetryWaitGrowsToItsBound(t *testing.T) {
	var got []time.Duration
	for fails := 1; fails <= 9; fails++ {
		got = append(got, retryWait(fails))
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second,
		32 * time.Second, time.Minute, time.Minute, time.Minute}, got)
	assert.Equal(t, time.Minute, retryWait(1000), "no overflow")
}
