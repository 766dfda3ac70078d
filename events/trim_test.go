package events

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// A trim that keeps failing while the writes go on is counted each time
// and logged once at its start and once at its end; it was an error line
// per commit (log audit). A nested bucket before the oldest block is what
// Delete refuses (bbolt's ErrIncompatibleValue): every trim fails there,
// and no commit does.
func TestTrimThatKeepsFailingIsLoggedOnceAndItsEnd(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l, err := Open(filepath.Join(t.TempDir(), FileName), WithRetention(3), WithLogger(zap.New(core)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	appendConnects(t, l, "c-", 0, 1)
	nested := func(make bool) {
		require.NoError(t, l.update(func(tx *bolt.Tx) error {
			if make {
				_, err := tx.Bucket(bucketEvents).CreateBucket(seqKey(0))
				return err
			}
			return tx.Bucket(bucketEvents).DeleteBucket(seqKey(0))
		}))
	}
	nested(true)
	for i := 1; i < 20; i++ {
		appendConnects(t, l, "c-", i, 1) // a commit each
	}
	failed := func() int { return logs.FilterMessageSnippet("past the retention failed").Len() }
	assert.GreaterOrEqual(t, testutil.ToFloat64(l.m.storeErrors), 10.0, "each failed trim counted")
	assert.Equal(t, 1, failed(), "one line for the fault, not one per commit")

	nested(false)
	appendConnects(t, l, "c-", 20, 1)
	// Newest moves at the commit, before the writer's trim after it: wait
	// for its line rather than read the log at once.
	require.Eventually(t, func() bool { return logs.FilterMessageSnippet("past the retention works again").Len() > 0 },
		10*time.Second, time.Millisecond, "the end of the fault logged")
	assert.Equal(t, 1, logs.FilterMessageSnippet("past the retention works again").Len())
	assert.Equal(t, 1, failed())
}
