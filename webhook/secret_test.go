package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The Standard Webhooks specification's published test vector (its
// libraries' TestWebhookSign).
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignerMatchesSpecVector(t *testing.T) {
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	require.Equal(t, vectorSig, sg.Sign(vectorID, time.Unix(vectorTS, 0), []byte(vectorBody)))
}

// hmacVerify is an independent check, written from the specification's
// text alone: v1,base64(HMAC-SHA256(key, id.timestamp.body)), one of the
// space-separated signatures must match.
func hmacVerify(secret, id, ts string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(header, " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func TestSignerSignsWithEverySecret(t *testing.T) {
	second := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))
	sg, err := ParseSecrets(vectorSecret + "  " + second + "\n")
	require.NoError(t, err)
	require.Equal(t, 2, sg.Len())
	ts := time.Unix(1700000000, 0)
	header := sg.Sign("msg_1-2", ts, []byte(`{"a":1}`))
	sigs := strings.Split(header, " ")
	require.Len(t, sigs, 2)
	for _, secret := range []string{vectorSecret, second} {
		require.True(t, hmacVerify(secret, "msg_1-2", strconv.FormatInt(ts.Unix(), 10), []byte(`{"a":1}`), header))
	}
	require.False(t, hmacVerify(vectorSecret, "msg_1-3", strconv.FormatInt(ts.Unix(), 10), []byte(`{"a":1}`), header),
		"the id is signed")
	require.False(t, hmacVerify(vectorSecret, "msg_1-2", strconv.FormatInt(ts.Unix()+1, 10), []byte(`{"a":1}`), header),
		"the timestamp is signed")
}

// badSecrets are ParseSecrets' golden refusals.
var badSecrets = map[string]string{
	"empty":      "",
	"blank":      "  \n ",
	"no prefix":  "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	"not base64": "whsec_%%%%not-base64%%%%",
	"no key":     "whsec_",
	"second bad": vectorSecret + " whsec_nope!",
}

func TestParseSecretsRefusesBadOnesWithoutShowingThem(t *testing.T) {
	for name, in := range badSecrets {
		_, err := ParseSecrets(in)
		require.Error(t, err, name)
		if strings.TrimSpace(in) == "" {
			require.ErrorIs(t, err, ErrNoSecret, name)
			continue
		}
		require.ErrorIs(t, err, ErrBadSecret, name)
		for _, f := range strings.Fields(in) {
			if key := strings.TrimPrefix(f, "whsec_"); key != "" {
				require.NotContains(t, err.Error(), key, "%s: the error shows the secret", name)
			}
		}
	}
}

func TestLoadSecretsFromEnvAndFile(t *testing.T) {
	second := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-of-32-bytes-long!"))
	file := t.TempDir() + "/secret"
	require.NoError(t, writeFile(file, second+"\n"))
	t.Setenv(SecretEnv, vectorSecret)
	sg, err := LoadSecrets(file)
	require.NoError(t, err)
	require.Equal(t, 2, sg.Len())

	t.Setenv(SecretEnv, "")
	_, err = LoadSecrets("")
	require.ErrorIs(t, err, ErrNoSecret)
	_, err = LoadSecrets(file + ".missing")
	require.ErrorContains(t, err, "webhook secret file")
}

// FuzzParseSecrets: any input either parses into signers that sign, or
// is refused with one of the two sentinels; never a panic. Seeded with
// the golden ones.
func FuzzParseSecrets(f *testing.F) {
	for _, seed := range []string{vectorSecret, vectorSecret + " " + vectorSecret, "", "whsec_", "whsec_====", "v1,abc", "whsec_" + strings.Repeat("A", 88)} {
		f.Add(seed)
	}
	for _, name := range slices.Sorted(maps.Keys(badSecrets)) {
		f.Add(badSecrets[name])
	}
	f.Fuzz(func(t *testing.T, in string) {
		sg, err := ParseSecrets(in)
		if err != nil {
			require.True(t, errorIsOne(err, ErrNoSecret, ErrBadSecret), "unexpected error %v", err)
			return
		}
		header := sg.Sign("msg_1-1", time.Unix(1, 0), []byte("{}"))
		require.Len(t, strings.Fields(header), sg.Len())
		for _, f := range strings.Fields(in) {
			require.True(t, hmacVerify(f, "msg_1-1", "1", []byte("{}"), header))
		}
	})
}

// A deliverer never goes unsigned: SetSigner refuses no secret, and the
// secrets in force stay.
func TestSetSignerRefusesNoSecret(t *testing.T) {
	l, dir := tempLog(t)
	sg, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	d, err := New("http://127.0.0.1:9/hook", l, sg, openCursor(t, dir, "http://127.0.0.1:9/hook"))
	require.NoError(t, err)
	require.ErrorIs(t, d.SetSigner(nil), ErrNoSecret)
	require.ErrorIs(t, d.SetSigner(&Signer{}), ErrNoSecret)
	assert.Same(t, sg, d.signer.Load())
}

// A key under the 24 bytes Standard Webhooks recommends ("should") signs,
// as its libraries accept it: refused, it kept a server whose receiver
// was set up with one from starting. The deliverer warns of it, at start
// and at a reload, by position and length, never its text.
func TestShortKeySignsWithAWarning(t *testing.T) {
	short := "whsec_" + base64.StdEncoding.EncodeToString([]byte("test-secret"))
	sg, err := ParseSecrets(vectorSecret + " " + short)
	require.NoError(t, err)
	ts := time.Now()
	header := sg.Sign("msg_short", ts, []byte(`{}`))
	wh, err := standardwebhooks.NewWebhook(short)
	require.NoError(t, err)
	require.NoError(t, wh.Verify([]byte(`{}`), http.Header{"Webhook-Id": {"msg_short"},
		"Webhook-Timestamp": {strconv.FormatInt(ts.Unix(), 10)}, "Webhook-Signature": {header}}), "the library verifies it")

	core, logs := observer.New(zapcore.WarnLevel)
	l, dir := tempLog(t)
	d, err := New("http://127.0.0.1:1/hook", l, sg, openCursor(t, dir, "http://127.0.0.1:1/hook"), WithLogger(zap.New(core)))
	require.NoError(t, err)
	warned := logs.FilterMessageSnippet("under 24 bytes").All()
	require.Len(t, warned, 1)
	assert.Equal(t, "[2] [11]", fmt.Sprint(warned[0].ContextMap()["secret"], " ", warned[0].ContextMap()["bytes"]), "the second secret, 11 bytes")
	assert.NotContains(t, fmt.Sprint(warned[0].ContextMap()), "test-secret")

	long, err := ParseSecrets(vectorSecret)
	require.NoError(t, err)
	require.NoError(t, d.SetSigner(long))
	require.NoError(t, d.SetSigner(sg))
	assert.Len(t, logs.FilterMessageSnippet("under 24 bytes").All(), 2, "once more for the reload with a short key, not for the long one")
}
