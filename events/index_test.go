package events

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIndexSharedSlots: clients that share a slot of the index share its
// chain, and ReadCID, LatestCID and History still answer with one client's
// events only, in order and up to the limit, across a reopen (the index is
// rebuilt from the file) and a retention that dropped the chains' tails.
func TestIndexSharedSlots(t *testing.T) {
	for _, slots := range []int{1, 3, indexSlots} {
		t.Run(fmt.Sprintf("slots=%d", slots), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			opts := []Option{WithRetention(200), func(o *options) { o.indexSlots = slots }}
			l, err := Open(path, opts...)
			require.NoError(t, err)
			// 5 clients, 60 events each, interleaved: seq s is c(s-1)%5's.
			for i := range 300 {
				require.True(t, l.Append(Event{Type: TypeConnected, CID: fmt.Sprintf("c%d", i%5)}))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, l.Wait(ctx, 299))
			// The retention trims after the commit that Wait saw.
			require.Eventually(t, func() bool { return l.Oldest() == 101 }, 10*time.Second, 5*time.Millisecond)
			check := func(l *Log) {
				t.Helper()
				assert.Equal(t, uint64(101), l.Oldest())
				latest, err := l.LatestCID(ctx, "c3", 7)
				require.NoError(t, err)
				require.Len(t, latest, 7)
				for i, ev := range latest {
					assert.Equal(t, "c3", ev.CID)
					assert.Equal(t, uint64(299-5*i), ev.Seq, "newest first")
				}
				all, err := l.LatestCID(ctx, "c3", 1000)
				require.NoError(t, err)
				assert.Len(t, all, 40, "only the retained: seqs 104, 109, ... 299")
				after, err := l.ReadCID(ctx, "c1", 250, 4)
				require.NoError(t, err)
				require.Len(t, after, 4)
				for i, ev := range after {
					assert.Equal(t, "c1", ev.CID)
					assert.Equal(t, uint64(252+5*i), ev.Seq, "oldest first, after 250")
				}
				none, err := l.LatestCID(ctx, "nobody", 10)
				require.NoError(t, err)
				assert.Empty(t, none)
			}
			check(l)
			require.NoError(t, l.Close())
			l, err = Open(path, opts...)
			require.NoError(t, err)
			defer l.Close()
			check(l)
		})
	}
}

// FuzzIndexChain: whatever the order of clients and the slots, a walk of
// one client's chain from the index yields every retained event of that
// client (and maybe others of its slot), newest first.
func FuzzIndexChain(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 2}, uint8(1), uint8(0))
	f.Add([]byte{3, 3, 3, 1, 0, 3}, uint8(2), uint8(3))
	f.Add([]byte{}, uint8(5), uint8(0))
	f.Fuzz(func(t *testing.T, clients []byte, slots, dropped uint8) {
		x := newCIDIndex(int(slots%8) + 1)
		for i, c := range clients {
			x.add(fmt.Sprintf("c%d", c%8), uint64(i+1))
		}
		oldest := uint64(dropped) + 1
		x.drop(oldest)
		for c := range 8 {
			cid := fmt.Sprintf("c%d", c)
			var want []uint64
			for i := len(clients) - 1; i >= 0 && uint64(i+1) >= oldest; i-- {
				if clients[i]%8 == byte(c) {
					want = append(want, uint64(i+1))
				}
			}
			seqs, _ := x.chain(cid, 0, 0, len(clients)+1)
			got := want[:0:0]
			for _, s := range seqs {
				if clients[s-1]%8 == byte(c) {
					got = append(got, s)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: chain %v, want %v", cid, got, want)
			}
		}
	})
}

// BenchmarkIndexAddBlock is the writer's indexing of a committed
// transaction: a burst's events of 19,000 clients, a queue's block (128)
// at a time, into the default table.
func BenchmarkIndexAddBlock(b *testing.B) {
	x := newCIDIndex(indexSlots)
	block := make([]queued, blockSize)
	cids := make([]string, 19000)
	for i := range cids {
		cids[i] = fmt.Sprintf("storm-%d", i)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n += len(block) {
		for i := range block {
			block[i].cid = cids[(n+i)%len(cids)]
		}
		x.addBlock(block, uint64(n)+1)
		if x.back.len() > DefaultRetention {
			x.drop(uint64(n) + 1 - DefaultRetention/2)
		}
	}
}
