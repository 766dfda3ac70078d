package events

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A new log file has logPageSize pages and blocks that fill half of one;
// a file made with 4 KiB pages (an earlier build's) keeps them, and its
// new blocks still fit two a page of its own.
func TestLogPageSizeAndItsBlocks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pageSize int // of the file before the log opens it; 0: none
	}{{"new file", 0}, {"file of 4 KiB pages", 4096}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			want := logPageSize
			if tc.pageSize > 0 {
				want = tc.pageSize
				db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: tc.pageSize})
				require.NoError(t, err)
				require.NoError(t, db.Close())
			}
			l, err := Open(path)
			require.NoError(t, err)
			const n = 300 // ~60 KB: several blocks of either size
			appendConnects(t, l, "page-", 0, n)
			require.NoError(t, l.Close())

			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
			require.NoError(t, err)
			defer db.Close()
			assert.Equal(t, want, db.Info().PageSize)
			events, largest := 0, 0
			require.NoError(t, db.View(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
					events += 1 + bytes.Count(v, []byte{'\n'})
					largest = max(largest, len(v))
					return nil
				})
			}))
			assert.Equal(t, n, events)
			assert.LessOrEqual(t, largest, blockMax(want))
			assert.Greater(t, largest, blockMax(want)-512, "blocks fill their half page, within an event")
		})
	}
}
