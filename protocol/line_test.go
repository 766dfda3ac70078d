package protocol

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoldenLinesDecodeAndReencode(t *testing.T) {
	for _, g := range GoldenLines {
		t.Run(g.Name, func(t *testing.T) {
			line, n, err := NextLine([]byte(g.Wire))
			if g.Partial() {
				require.NoError(t, err)
				assert.Zero(t, n, "a partial line must wait for more bytes")
				return
			}
			if err == nil {
				require.Equal(t, len(g.Wire), n, "the whole vector is one line")
				var l Line
				l, err = Parse(line)
				if err == nil {
					assert.Equal(t, g.Code, l.Code)
					assert.Equal(t, g.NoArg, l.Arg == nil)
					assert.Equal(t, g.Arg, string(l.Arg))
					require.NoError(t, Validate(l))
					want := g.Canonical
					if want == "" {
						want = g.Wire
					}
					assert.Equal(t, want, string(AppendLine(nil, l)))
				}
			}
			assert.ErrorIs(t, err, g.Err)
		})
	}
}

// Every vector must frame the same whether it arrives whole or one byte at
// a time: NextLine never reports a line before its LF; a malformed one may
// be refused before it.
func TestNextLineByteByByte(t *testing.T) {
	for _, g := range GoldenLines {
		var buf []byte
		var got []byte
		var gotErr error
		for i := 0; i < len(g.Wire) && got == nil && gotErr == nil; i++ {
			buf = append(buf, g.Wire[i])
			line, n, err := NextLine(buf)
			gotErr = err
			if n > 0 {
				got = line
				assert.Equal(t, len(g.Wire), n, g.Name)
			}
		}
		switch {
		case g.Err == ErrLineTooLong:
			assert.ErrorIs(t, gotErr, ErrLineTooLong, g.Name)
		case g.Err == ErrMalformed && gotErr != nil: // refused before its LF
			assert.ErrorIs(t, gotErr, ErrMalformed, g.Name)
		case g.Err == ErrMalformed: // framed, refused by Parse
			require.NotNil(t, got, g.Name)
			_, err := Parse(got)
			assert.ErrorIs(t, err, ErrMalformed, g.Name)
		case !g.Partial():
			assert.NoError(t, gotErr, g.Name)
			assert.NotNil(t, got, g.Name)
		}
	}
}

func TestNextLineTakesOnlyTheFirst(t *testing.T) {
	buf := []byte("110 s3cret\r\n120 pos-1\n100")
	line, n, err := NextLine(buf)
	require.NoError(t, err)
	assert.Equal(t, "110 s3cret", string(line))
	line, m, err := NextLine(buf[n:])
	require.NoError(t, err)
	assert.Equal(t, "120 pos-1", string(line))
	_, k, err := NextLine(buf[n+m:])
	require.NoError(t, err)
	assert.Zero(t, k)
}

func TestValidateRejectsWhatParseRejects(t *testing.T) {
	for _, arg := range []string{"a\nb", "a\rb", "a\x00b", strings.Repeat("x", MaxLine)} {
		assert.Error(t, Validate(Line{Code: CodeID, Arg: []byte(arg)}), "%q", arg)
	}
	assert.Error(t, Validate(Line{Code: 1000}))
	assert.NoError(t, Validate(Line{Code: CodeShutdown}))
}

func TestParseDoesNotAllocate(t *testing.T) {
	buf := []byte("110 s3cret\r\n")
	allocs := testing.AllocsPerRun(1000, func() {
		line, _, _ := NextLine(buf)
		_, _ = Parse(line)
	})
	assert.Zero(t, allocs)
}
