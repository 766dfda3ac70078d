package natsurl

import (
	"strings"
	"testing"

	"github.com/cliser/cliser/internal/testkit"
)

// FuzzSecretsStayOut: a --cluster list whose entry carries a password (or
// a token, when user is "") as the operator may type it, percent-encoded
// or not, beside another entry: nothing panics, and neither Strip nor
// Scrub(…, Secrets) shows the secret, unless it is a piece of what the
// list shows anyway (its hosts, its schemes). Seeded with the tests'.
func FuzzSecretsStayOut(f *testing.F) {
	for _, seed := range []struct {
		user, secret, host, other string
		encode                    bool
	}{
		{"u", "hunter2", "n1:4222", "s3cr3t-token@n2:4222", false},
		{"", "s3cr3t-token", "n2:4222", "tls://n3:4222", false},
		{"u", "hunter2#x", "n1:4222", "", false},
		{"u", "hun/ter2", "n1:4222", "", true},
		{"u", "1234#hunter2", "n1:4222", "nats://u:p@n1:port", false},
		{"u", "hunter2 x", "[::1]:4222", "", true},
		{"u", "p#ss", "[::1]:4222", "", true},
		{"", "s3cr/t-tok", "n2:4222", "nats://", true},
	} {
		f.Add(seed.user, seed.secret, seed.host, seed.other, seed.encode)
	}
	f.Fuzz(func(t *testing.T, user, secret, host, other string, encode bool) {
		// host is a host and port as a list names them.
		if strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") != "" || strings.Contains(user+secret, ",") ||
			(!encode && strings.ContainsAny(user, ":@/?#")) || (!encode && user == "" && strings.Contains(secret, ":")) {
			// The entry or its user info would end elsewhere than the case
			// means; an unencoded token with a ":" is a user and a password.
			return
		}
		info := testkit.NATSUserInfo(user, secret, encode)
		list := "nats://" + info + "@" + host + "," + other
		stripped := Strip(list)
		scrubbed := Scrub(list, Secrets(list))
		if len(secret) < 3 || strings.Contains(user+host+other+"nats://[redacted](unparsable URL)", secret) {
			return // a piece of what is shown anyway (a user name is no secret)
		}
		if strings.Contains(stripped, secret) {
			t.Fatalf("Strip(%q) = %q shows %q", list, stripped, secret)
		}
		if _, err := Parse(list[:strings.Index(list, ",")]); err == nil && strings.Contains(scrubbed, secret) {
			t.Fatalf("Scrub(%q) = %q shows %q", list, scrubbed, secret)
		}
	})
}
