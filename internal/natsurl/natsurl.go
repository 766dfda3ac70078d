// Package natsurl keeps the secrets of a --cluster list out of logs and
// messages. A NATS URL may carry a user and password (nats://u:p@host) or
// a token (nats://token@host); url.URL.Redacted hides only a password, so
// a token would show.
package natsurl

import (
	"net/url"
	"strings"
)

// Strip is the comma-separated list of URLs without their user info: what
// a log line or an error names. An entry that does not parse is given as
// "(unparsable URL)", since where its user info ends is unknown.
func Strip(list string) string {
	if list == "" { // nats.go's ConnectedUrl while not connected
		return ""
	}
	parts := strings.Split(list, ",")
	for i, raw := range parts {
		u, err := parse(raw)
		if err != nil {
			parts[i] = "(unparsable URL)"
			continue
		}
		u.User = nil
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// Secrets are the passwords and tokens of the list's URLs, to scrub from
// a text that may quote one (Scrub).
func Secrets(list string) []string {
	var out []string
	for _, raw := range strings.Split(list, ",") {
		u, err := parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		secret, ok := u.User.Password()
		if !ok { // nats://token@host: the user part is the token
			secret = u.User.Username()
		}
		if secret != "" {
			out = append(out, secret)
		}
	}
	return out
}

// Scrub is text with each of secrets replaced by "[redacted]".
func Scrub(text string, secrets []string) string {
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "[redacted]")
	}
	return text
}

// parse reads one entry as nats.go does: a bare host:port is nats://.
func parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		raw = "nats://" + raw
	}
	return url.Parse(raw)
}
