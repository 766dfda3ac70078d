package identity

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Only what EncodeCredential and EncodeBan write decodes; anything else
// wraps ErrBadValue, so that a load refuses the file (boltstore's
// LoadEach) rather than start with a credential or ban it misreads: a
// short digest admitted no secret, a ban on a value no address matches
// lifted it without a word. Found by mutating codec.go and codec_fast.go
// (none of these was refused by a test).
func TestDecodeRefusesWhatEncodeNeverWrote(t *testing.T) {
	d := strings.Repeat("01", 32)
	at := `"created_at":"2026-11-30T07:00:00Z"`
	for name, raw := range map[string]string{
		"version 0":        `{"v":0,"cid":"pos-1","digest":"` + d + `",` + at + `}`,
		"no version":       `{"cid":"pos-1","digest":"` + d + `",` + at + `}`,
		"a short digest":   `{"v":1,"cid":"pos-1","digest":"0101",` + at + `}`,
		"a digest not hex": `{"v":1,"cid":"pos-1","digest":"` + strings.Repeat("zz", 32) + `",` + at + `}`,
		"a bad client id":  `{"v":1,"cid":"pos 1","digest":"` + d + `",` + at + `}`,
		"a short previous": `{"v":1,"cid":"pos-1","digest":"` + d + `",` + at + `,"previous":"02"}`,
	} {
		_, err := DecodeCredential([]byte(raw))
		assert.ErrorIs(t, err, ErrBadValue, "credential with %s", name)
	}
	for name, raw := range map[string]string{
		"version 0":  `{"v":0,"kind":"ip","value":"192.0.2.1","by":"operator","at":"2026-11-30T07:00:00Z"}`,
		"a bad net":  `{"v":1,"kind":"net","value":"10.0.0.0/99","by":"operator","at":"2026-11-30T07:00:00Z"}`,
		"a bad kind": `{"v":1,"kind":"host","value":"x","by":"operator","at":"2026-11-30T07:00:00Z"}`,
		"a bad ip":   `{"v":1,"kind":"ip","value":"300.1.1.1","by":"operator","at":"2026-11-30T07:00:00Z"}`,
	} {
		_, err := DecodeBan([]byte(raw))
		assert.ErrorIs(t, err, ErrBadValue, "ban with %s", name)
	}
}

// Stored times are UTC whatever zone the caller's were in (the stored
// form's promise: one form on every node and in every file).
func TestEncodeWritesTimesInUTC(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.FixedZone("EET", 2*3600))
	raw, err := EncodeCredential(Credential{CID: "pos-1", CreatedAt: at})
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"created_at":"2026-11-30T07:00:00Z"`)
	raw, err = EncodeBan(Ban{Kind: KindIP, Value: "192.0.2.1", By: ByOperator, At: at})
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"at":"2026-11-30T07:00:00Z"`)
}
