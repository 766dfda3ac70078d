package events

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A new log file has logPageSize pages and blocks that fill a quarter of
// one; a file made with 4 KiB pages (an earlier build's) keeps them, and
// its new blocks still fit four a page of its own.
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
			assert.Greater(t, largest, blockMax(want)-512, "blocks fill their quarter page, within an event")
		})
	}
}

// Every leaf the writer's commits leave is one page: bbolt takes a page
// of one from its pool and makes a buffer anew for a page of several, at
// each commit (blockMax). Transactions of several sizes, so that their
// last leaves hold every count of blocks.
func TestLogCommitsLeavesOfOnePage(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path)
	require.NoError(t, err)
	from := 0
	for _, n := range []int{300, 410, 520, 630, 740, 850} {
		appendConnects(t, l, "leaf-", from, n)
		from += n
	}
	require.NoError(t, l.Close())

	db, err := bolt.Open(path, 0o600, nil) // not read-only: Page needs the freelist
	require.NoError(t, err)
	defer db.Close()
	leaves := 0
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		for id := 2; ; id++ {
			p, err := tx.Page(id)
			if p == nil || err != nil {
				return err
			}
			if p.Type == "leaf" {
				leaves++
				assert.Zero(t, p.OverflowCount, "leaf page %d of %d pages", id, 1+p.OverflowCount)
				id += p.OverflowCount
			}
		}
	}))
	assert.Greater(t, leaves, 10, "the events fill many leaves")
}
