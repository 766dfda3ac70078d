package registry

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// A CopyingStore's records take their port and session name from the
// take's reused buffer: every Save still sees each record's own text, and
// a second burst's flush makes no text string (24 B a record before, the
// bound of TestBurstsReuseTheKeptBuffers being 32).
func TestCopyingStoreGetsTheTextWithoutAString(t *testing.T) {
	st := &copyingTextStore{textStore{copies: true}}
	r, cids := flushedBurst(t, st) // the buffer is overwritten between a flush's takes
	st.requireTextOf(t, r, cids)
	perRecord := secondBurstPerRecord(t, r, cids)
	assert.Less(t, perRecord, 8.0, "a take made its text as a string")
	st.requireTextOf(t, r, cids)
}

// A Store that is not a CopyingStore may keep its records' strings (the
// cluster's slot store does): later flushes must not change them.
func TestKeepingStoreKeepsItsText(t *testing.T) {
	st := &textStore{}
	r, cids := flushedBurst(t, st)
	kept := make(map[string]Record, len(st.kept))
	for cid, rec := range st.kept {
		kept[cid] = Record{CPort: strings.Clone(rec.CPort), Session: strings.Clone(rec.Session)}
	}
	for _, cid := range cids { // other text through the same buffers
		require.True(t, r.Disconnect(cid, nil, protocol.ReasonClosedByClient))
		_, _, err := r.RegisterPort(cid, &internalCIP, 61234, nil)
		require.NoError(t, err)
	}
	require.NoError(t, r.Flush())
	require.Len(t, kept, burstSize)
	for cid, want := range kept {
		got := st.first[cid]
		require.Equal(t, want.CPort, got.CPort, cid)
		require.Equal(t, want.Session, got.Session, cid)
	}
}

// textStore keeps each record as Save got it: its text copied into an
// arena made beforehand when copies is set (as a CopyingStore must, and
// without allocating, so that the test counts the registry's garbage
// alone), as given otherwise (as the cluster's store does); first holds
// each cid's first record as given, for the test that its strings stay.
type textStore struct {
	copies bool
	arena  []byte
	kept   map[string]Record
	first  map[string]Record
}

func (s *textStore) Load() ([]Record, error) { return nil, nil }
func (s *textStore) Close() error            { return nil }
func (s *textStore) Save(put []Record, _ []string) error {
	if s.kept == nil {
		s.kept, s.first = make(map[string]Record), make(map[string]Record)
		s.arena = make([]byte, 0, 1<<20)
	}
	for _, rec := range put {
		if s.copies {
			rec.CPort, rec.Session = s.copyText(rec.CPort), s.copyText(rec.Session)
		}
		s.kept[rec.CID] = rec
		if _, ok := s.first[rec.CID]; !ok && !s.copies {
			s.first[rec.CID] = rec
		}
	}
	return nil
}

// copyText copies v into the arena, which never grows (a test's records
// fit): the copy stays as it is.
func (s *textStore) copyText(v string) string {
	if len(s.arena)+len(v) > cap(s.arena) {
		panic("textStore: the arena is full")
	}
	at := len(s.arena)
	s.arena = append(s.arena, v...)
	return unsafe.String(unsafe.SliceData(s.arena[at:]), len(v))
}

// requireTextOf checks that the store got each cid's port and session name
// as the registry formats them one by one.
func (s *textStore) requireTextOf(t *testing.T, r *Registry, cids []string) {
	t.Helper()
	require.Len(t, s.kept, len(cids))
	for _, cid := range cids {
		want, ok := r.Get(cid)
		require.True(t, ok, cid)
		got := s.kept[cid]
		require.Equal(t, want.CPort, got.CPort, cid)
		require.Equal(t, want.Session, got.Session, cid)
		require.NotEmpty(t, got.Session, cid)
	}
}

// copyingTextStore is textStore with the CopyingStore mark.
type copyingTextStore struct{ textStore }

func (*copyingTextStore) CopiesRecords() {}

var _ CopyingStore = (*copyingTextStore)(nil)
