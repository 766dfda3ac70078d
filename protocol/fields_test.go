package protocol

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientIDRule(t *testing.T) {
	for _, ok := range []string{"a", "pos-0042", "A.z_0:9@x-Y", strings.Repeat("i", MaxClientID)} {
		assert.NoError(t, ValidateClientID([]byte(ok)), ok)
	}
	for _, bad := range []string{"", "a b", "a/b", "ä", "a\x00", "a\xff", "a+b", "a,b", strings.Repeat("i", MaxClientID+1)} {
		assert.ErrorIs(t, ValidateClientID([]byte(bad)), ErrBadClientID, "%q", bad)
	}
}

func TestPasswordRule(t *testing.T) {
	for _, ok := range []string{"x", "with space", "\xff\xfe", strings.Repeat("p", MaxPassword)} {
		assert.NoError(t, ValidatePassword([]byte(ok)), ok)
	}
	for _, bad := range []string{"", "a\rb", "a\nb", "a\x00b", strings.Repeat("p", MaxPassword+1)} {
		assert.ErrorIs(t, ValidatePassword([]byte(bad)), ErrBadPassword, "%q", bad)
	}
}

func TestTokenIsCanonicalDecimal(t *testing.T) {
	for in, want := range map[string]uint64{"0": 0, "1": 1, "42": 42, "18446744073709551615": 1<<64 - 1} {
		got, err := ParseToken([]byte(in))
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
		assert.Equal(t, "100 "+in+"\n", string(AppendKeepAlive(nil, got)))
	}
	for _, bad := range []string{"", "01", "-1", "+1", "1a", " 1", "18446744073709551616", "99999999999999999999"} {
		_, err := ParseToken([]byte(bad))
		assert.ErrorIs(t, err, ErrBadToken, "%q", bad)
	}
}

func TestConnectedRoundTrip(t *testing.T) {
	for _, sid := range []uint16{1, 17, 65535} {
		line, _, err := NextLine(AppendConnected(nil, sid))
		require.NoError(t, err)
		l, err := Parse(line)
		require.NoError(t, err)
		require.Equal(t, CodeConnected, l.Code)
		got, err := ParseConnected(l.Arg)
		require.NoError(t, err)
		assert.Equal(t, sid, got)
	}
	for _, bad := range []string{"connected 0", "connected 65536", "connected", "17", "connected 017"} {
		_, err := ParseConnected([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// A client reads a server line by its code (PROTOCOL.md): other words
// before a 140's sid, or in a 130, do not make it another line.
func TestClientReadsServerLinesByTheirCode(t *testing.T) {
	for arg, want := range map[string]uint16{"connected 17": 17, "registered 7": 7, "9": 9, "a b 65535": 65535} {
		got, err := ConnectedSID([]byte(arg))
		require.NoError(t, err, arg)
		assert.Equal(t, want, got, arg)
	}
	for _, bad := range []string{"connected", "connected 0", "connected 65536", "", "connected 017", "17 "} {
		_, err := ConnectedSID([]byte(bad))
		assert.Error(t, err, bad)
	}
	for arg, want := range map[string]string{"": "", "shutdown": "", "shutdown now": "now", "halt now": "halt now", "shutdownx": "shutdownx",
		// In ASCII, as a server sends it: escapes reached the agent's hook raw.
		"shutdown a\x1b[31mb\x07c": "a [31mb c", "shutdown café": "caf?", "halt\tnow\xff": "halt now?"} {
		assert.Equal(t, want, ShutdownOrder([]byte(arg)), arg)
	}
	for arg, want := range map[string]bool{"7": true, "007": true, "18446744073709551616": true, "": false, "-1": false, "1 2": false, "x": false} {
		assert.Equal(t, want, IsTokenEcho([]byte(arg)), arg)
	}
}

func TestShutdownRoundTrip(t *testing.T) {
	assert.Equal(t, "130 shutdown\n", string(AppendShutdown(nil, "")))
	assert.Equal(t, "130 shutdown\n", string(AppendShutdown(nil, " \r\n ")))
	assert.Equal(t, "130 shutdown maintenance window\n", string(AppendShutdown(nil, "maintenance window")))
	assert.Equal(t, "130 shutdown a b\n", string(AppendShutdown(nil, "a\nb")))
	// ASCII, as every line is: a colour code or a non-ASCII character
	// never reaches the wire.
	assert.Equal(t, "130 shutdown caf? break ?  [31mred\n", string(AppendShutdown(nil, "café\tbreak ☕ \x1b[31mred")))
	assert.Equal(t, "130 shutdown ?\n", string(AppendShutdown(nil, "\xff")))
	long := string(AppendShutdown(nil, strings.Repeat("r", 10*MaxLine)))
	assert.Len(t, long, MaxLine)

	for text, want := range map[string]string{"shutdown": "", "shutdown maintenance window": "maintenance window"} {
		got, err := ParseShutdown([]byte(text))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseShutdown([]byte("shutdownx"))
	assert.Error(t, err)
	assert.True(t, IsShutdownAck(Line{Code: CodeShutdown, Arg: []byte("ok")}))
	assert.False(t, IsShutdownAck(Line{Code: CodeShutdown, Arg: []byte("OK")}))
}

func TestReasonsRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		text := r.String()
		require.NotEmpty(t, text)
		require.False(t, seen[text], "duplicate text %q", text)
		seen[text] = true
		back, ok := ParseReason(text)
		require.True(t, ok)
		assert.Equal(t, r, back)
		line := AppendClose(nil, r)
		assert.Equal(t, "190 "+text+"\n", string(line))
	}
	// The wire texts are the contract; pin them.
	assert.Equal(t, "auth failed", ReasonAuthFailed.String())
	assert.Equal(t, "server shutting down", ReasonServerShuttingDown.String())
	assert.True(t, ReasonKicked.SentOnWire())
	assert.False(t, ReasonShutdown.SentOnWire())
	_, ok := ParseReason("nope")
	assert.False(t, ok)
	var r Reason
	assert.Error(t, r.UnmarshalText([]byte("no\npe")), "not a reason's text")
	require.NoError(t, r.UnmarshalText([]byte("kicked")))
	assert.Equal(t, ReasonKicked, r)
}

func TestClientAnswers(t *testing.T) {
	b, err := AppendPasswordAnswer(nil, []byte("s3cret"))
	require.NoError(t, err)
	b, err = AppendIDAnswer(b, []byte("pos-0042"))
	require.NoError(t, err)
	assert.Equal(t, "110 s3cret\n120 pos-0042\n", string(b))
	_, err = AppendPasswordAnswer(nil, []byte("a\nb"))
	assert.ErrorIs(t, err, ErrBadPassword)
	_, err = AppendIDAnswer(nil, []byte("a b"))
	assert.ErrorIs(t, err, ErrBadClientID)
	assert.Equal(t, ReasonBadID, ReasonFor(ErrBadClientID))
	assert.Equal(t, ReasonLineTooLong, ReasonFor(ErrLineTooLong))
	assert.Equal(t, ReasonProtocolError, ReasonFor(ErrMalformed))
}
