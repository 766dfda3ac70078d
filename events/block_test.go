package events

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A block is events' JSON a line each: the encoder must never write a raw
// newline, whatever the strings hold.
func TestAppendJSONWritesOneLine(t *testing.T) {
	for _, ev := range encodeCases() {
		js, err := AppendJSON(nil, &ev)
		if err != nil {
			continue
		}
		assert.NotContains(t, string(js), "\n", "%+v", ev)
	}
}

// goldenBlock is the block of encodeCases' encodable events, under first.
func goldenBlock(t testing.TB, first uint64) (key, value []byte, lines [][]byte) {
	key = binary.BigEndian.AppendUint64(nil, first)
	for _, ev := range encodeCases() {
		ev.Seq = first + uint64(len(lines))
		js, err := AppendJSON(nil, &ev)
		if err != nil {
			continue
		}
		lines = append(lines, js)
	}
	return key, bytes.Join(lines, []byte{'\n'}), lines
}

func TestBlockEach(t *testing.T) {
	k, v, lines := goldenBlock(t, 41)
	var got [][]byte
	var seqs []uint64
	stop, err := blockEach(k, v, 0, ^uint64(0), func(seq uint64, js []byte) bool {
		seqs, got = append(seqs, seq), append(got, js)
		return true
	})
	require.NoError(t, err)
	assert.False(t, stop)
	assert.Equal(t, lines, got)
	assert.Equal(t, uint64(41), seqs[0])
	assert.Equal(t, uint64(41+len(lines)-1), blockLast(k, v))

	got = nil
	stop, err = blockEach(k, v, 42, 43, func(seq uint64, js []byte) bool { got = append(got, js); return true })
	require.NoError(t, err)
	assert.False(t, stop)
	assert.Equal(t, lines[1:3], got, "from and to bound the seqs")

	_, err = blockEach(k, append([]byte("x\n"), v...), 0, ^uint64(0), func(uint64, []byte) bool { return true })
	assert.ErrorIs(t, err, ErrCorrupt, "a line that is not an object")
	_, err = blockEach(k[:7], v, 0, ^uint64(0), func(uint64, []byte) bool { return true })
	assert.ErrorIs(t, err, ErrCorrupt, "a key that is not a seq")
}

// FuzzBlockEach: any stored value is read without a panic, as lines that
// start with '{' or an ErrCorrupt; a block of encoded events gives them
// back in order, each with its seq.
func FuzzBlockEach(f *testing.F) {
	_, v, _ := goldenBlock(f, 1)
	f.Add(uint64(1), v)
	f.Add(uint64(7), []byte(`{"seq":7}`))
	f.Add(uint64(0), []byte("{}\n\n{}"))
	f.Add(^uint64(0), []byte("{\n{"))
	f.Fuzz(func(t *testing.T, first uint64, v []byte) {
		k := binary.BigEndian.AppendUint64(nil, first)
		n := uint64(0)
		_, err := blockEach(k, v, 0, ^uint64(0), func(seq uint64, js []byte) bool {
			if seq != first+n || len(js) == 0 || js[0] != '{' || bytes.IndexByte(js, '\n') >= 0 {
				t.Fatalf("event %d of the block: seq %d, %q", n, seq, js)
			}
			n++
			return true
		})
		if err == nil && len(v) > 0 && n != uint64(bytes.Count(v, []byte{'\n'})+1) && first+n != 0 {
			t.Fatalf("%d events read of %d lines", n, bytes.Count(v, []byte{'\n'})+1)
		}
	})
}
