package protocol

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below pin edges that a mutation audit found no test held: each
// would have passed with the code one byte off.

// A line one byte over MaxLine must not validate, one that fits must.
func TestValidateStopsAtMaxLine(t *testing.T) {
	fits := Line{Code: CodeShutdown, Arg: []byte(strings.Repeat("a", MaxLine-len("000 \n")))}
	require.NoError(t, Validate(fits))
	assert.Len(t, AppendLine(nil, fits), MaxLine)
	over := Line{Code: CodeShutdown, Arg: []byte(strings.Repeat("a", MaxLine-len("000 \n")+1))}
	assert.ErrorIs(t, Validate(over), ErrMalformed)
}

// A code whose third byte is no digit is refused before any LF comes, as
// one whose first or second is.
func TestNextLineRefusesEachNonDigitOfTheCodeEarly(t *testing.T) {
	for _, p := range []string{"x", "1x", "11x"} {
		_, n, err := NextLine([]byte(p))
		assert.ErrorIs(t, err, ErrMalformed, "%q", p)
		assert.Zero(t, n, "%q", p)
	}
}

// Every letter of the client-id rule, its ends included, is allowed.
func TestClientIDRuleTakesEveryRangeEnd(t *testing.T) {
	for _, ok := range []string{"A", "Z", "a", "z", "0", "9", ".", "_", ":", "@", "-"} {
		assert.NoError(t, ValidateClientID([]byte(ok)), ok)
	}
}

// CleanText alone (a ban's reason) turns CR, LF and NUL into spaces.
func TestCleanTextBlanksLineBreaksAndNUL(t *testing.T) {
	assert.Equal(t, "a b c d", CleanText("a\rb\nc\x00d"))
}

// An operator's text is cut to MaxShutdownReason bytes, so that the 130
// line fits MaxLine, and a cut that ends in spaces loses them.
func TestShutdownTextCutToFitAndTrimmed(t *testing.T) {
	exact := strings.Repeat("r", MaxShutdownReason)
	assert.Equal(t, exact, CleanText(exact))
	assert.Equal(t, exact, CleanText(exact+"s"))
	assert.Len(t, AppendShutdown(nil, exact+"s"), MaxLine)
	spaced := strings.Repeat("r", MaxShutdownReason-2) + "  tail"
	assert.Equal(t, strings.Repeat("r", MaxShutdownReason-2), CleanText(spaced))
}

// Every control byte becomes a space, DEL and 0x1f included, and spaces
// so made at the ends go.
func TestShutdownTextBlanksEveryControlByte(t *testing.T) {
	assert.Equal(t, "a b", ShutdownText("a\x7fb"))
	assert.Equal(t, "a b", ShutdownText("a\x1fb"))
	assert.Equal(t, "a ?", ShutdownText("a\x7f?"))
	assert.Equal(t, "[31mred", ShutdownText("\x1b[31mred\x1b"))
	assert.Equal(t, "130 shutdown x\n", string(AppendShutdown(nil, "\x07x\x7f")))
}

// "ok" acknowledges a shutdown only on code 130.
func TestShutdownAckNeedsItsCode(t *testing.T) {
	assert.False(t, IsShutdownAck(Line{Code: CodeKeepAlive, Arg: []byte("ok")}))
	assert.False(t, IsShutdownAck(Line{Code: CodeID, Arg: []byte("ok")}))
}

// The first and last reasons of the wire block are told with a 190; the
// ones around it are not.
func TestSentOnWireBlockEnds(t *testing.T) {
	assert.False(t, ReasonNone.SentOnWire())
	assert.True(t, ReasonAuthFailed.SentOnWire())
	assert.True(t, ReasonServerShuttingDown.SentOnWire())
	assert.False(t, ReasonShutdown.SentOnWire())
}

// Each codec error maps to its own close reason (errors.go).
func TestReasonForEachCodecError(t *testing.T) {
	for err, want := range map[error]Reason{
		ErrLineTooLong: ReasonLineTooLong,
		ErrBadClientID: ReasonBadID,
		ErrBadPassword: ReasonAuthFailed,
		ErrMalformed:   ReasonProtocolError,
		ErrBadToken:    ReasonProtocolError,
	} {
		assert.Equal(t, want, ReasonFor(err), "%v", err)
	}
}
