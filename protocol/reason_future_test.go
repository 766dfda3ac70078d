package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reason a newer version wrote is kept as its text: it reads back from
// JSON, prints as it came, is never taken for a known reason, and the same
// text is the same value. The wire's parser stays strict.
func TestFutureReasonKeptAsText(t *testing.T) {
	var got struct{ Reason Reason }
	require.NoError(t, json.Unmarshal([]byte(`{"Reason":"some future reason"}`), &got))
	assert.Equal(t, "some future reason", got.Reason.String())
	assert.False(t, got.Reason.Known())
	assert.False(t, got.Reason.SentOnWire())
	out, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Reason":"some future reason"}`, string(out))

	var again Reason
	require.NoError(t, again.UnmarshalText([]byte("some future reason")))
	assert.Equal(t, got.Reason, again)
	var other Reason
	require.NoError(t, other.UnmarshalText([]byte("another future reason")))
	assert.NotEqual(t, got.Reason, other)

	var known Reason
	require.NoError(t, known.UnmarshalText([]byte("kicked")))
	assert.Equal(t, ReasonKicked, known)
	assert.True(t, known.Known())

	_, ok := ParseReason("some future reason")
	assert.False(t, ok, "the wire knows only this build's reasons")

	for _, bad := range []string{"tab\there", strings.Repeat("x", MaxFutureReason+1), "caf\xc3\xa9"} {
		var r Reason
		var ure *UnknownReasonError
		assert.ErrorAs(t, r.UnmarshalText([]byte(bad)), &ure, "%q", bad)
	}
}

// FuzzReasonText: any text UnmarshalText accepts prints back as itself.
func FuzzReasonText(f *testing.F) {
	for _, r := range Reasons() {
		f.Add(r.String())
	}
	f.Add("")
	f.Add("some future reason")
	f.Add("x\x00y")
	f.Fuzz(func(t *testing.T, text string) {
		var r Reason
		if err := r.UnmarshalText([]byte(text)); err != nil {
			return
		}
		if r.String() != text {
			t.Fatalf("%q read back as %q", text, r.String())
		}
	})
}
