package natsurl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A user and password, a token and a bare host:port lose their user info;
// a URL without any is unchanged.
func TestStripDropsUserInfo(t *testing.T) {
	got := Strip("nats://u:hunter2@n1:4222, s3cr3t-token@n2:4222,tls://n3:4222")
	assert.Equal(t, "nats://n1:4222,nats://n2:4222,tls://n3:4222", got)
	assert.NotContains(t, got, "hunter2")
	assert.NotContains(t, got, "s3cr3t-token")
	assert.Equal(t, "(unparsable URL)", Strip("nats://u:p@n1:port"))
	assert.Equal(t, "", Strip(""))
}

// The secrets are the passwords and the tokens; user names are no secret.
func TestSecretsAndScrub(t *testing.T) {
	secrets := Secrets("nats://u:hunter2@n1:4222,s3cr3t-token@n2:4222,nats://n3:4222")
	assert.Equal(t, []string{"hunter2", "s3cr3t-token"}, secrets)
	assert.Equal(t, "dial n1 as u with [redacted]", Scrub("dial n1 as u with hunter2", secrets))

	// Percent-encoded, a secret is scrubbed both as it reads and as the
	// URL spells it.
	list := "nats://u:hun%40ter2@n1:4222,s3cr%2ft-tok@n2:4222/"
	secrets = Secrets(list)
	assert.Equal(t, []string{"hun%40ter2", "hun@ter2", "s3cr%2ft-tok", "s3cr/t-tok"}, secrets)
	scrubbed := Scrub("dialled "+list+" with hun@ter2 and s3cr/t-tok", secrets)
	for _, s := range secrets {
		assert.NotContains(t, scrubbed, s)
	}

	// An unencoded "@" in a password: url.Parse ends the user info at the
	// last "@", and so does the spelling, else its head alone was scrubbed
	// and its tail showed.
	secrets = Secrets("nats://u:hun@ter2@n1:4222")
	assert.Equal(t, []string{"hun@ter2"}, secrets)
	assert.Equal(t, "auth as u with [redacted] failed", Scrub("auth as u with hun@ter2 failed", secrets))

	// An empty password is no secret: scrubbed, "" would cut the text
	// between every byte.
	assert.Empty(t, Secrets("nats://u:@n1:4222"))
	assert.Equal(t, "dial n1", Scrub("dial n1", Secrets("nats://u:@n1:4222")))
}

// A password or token with an unencoded "#", "?" or "/" does not read as
// user info: url.Parse takes its first part for the host (or fails on it
// as a port). Neither Strip nor Parse's error shows it, and Parse refuses
// the entry.
func TestUnencodedUserInfoStaysHidden(t *testing.T) {
	for _, raw := range []string{"nats://hunter2tok#@n1:4222", "nats://u:hunter2#x@n1:4222", "u:hunter2?x@n1:4222",
		"nats://u:hunter2/x@n1:4222", "nats://u:1234#hunter2@n1:4222", "nats://u:hunter2 x@n1:4222",
		"nats://u:hun@ter2#x@n1:4222", "nats://u:hun@ter2?x@n1:4222", "nats://u:hun@ter2/x@n1:4222", "hun@ter2#tok@n1:4222"} {
		_, err := Parse(raw)
		assert.ErrorIs(t, err, ErrUserInfo, raw)
		assert.Equal(t, "(unparsable URL)", Strip(raw), raw)
	}
	u, err := Parse("nats://u:p%23ss@[::1]:4222")
	require.NoError(t, err)
	assert.Equal(t, []string{"p%23ss", "p#ss"}, Secrets(u.String()))
	_, err = Parse("nats://n1:port")
	assert.EqualError(t, err, `invalid port ":port" after host`, "without user info the reason stays")
	_, err = Parse("nats://u:hunter2@[::1")
	assert.EqualError(t, err, `missing ']' in host`, "a host's fault is told as such, user info aside")
	_, err = Parse("u:hunter2@n1:port")
	assert.EqualError(t, err, `invalid port ":port" after host`)
}
