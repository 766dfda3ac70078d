// Package natsurl keeps the secrets of a --cluster list out of logs and
// messages. A NATS URL may carry a user and password (nats://u:p@host) or
// a token (nats://token@host); url.URL.Redacted hides only a password, so
// a token would show.
package natsurl

import (
	"errors"
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
		u, err := Parse(raw)
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
// a text that may quote one (Scrub): each as it reads decoded and, when
// percent-encoded, as the URL spells it (a text that quotes the URL
// quotes that).
func Secrets(list string) []string {
	var out []string
	for _, raw := range strings.Split(list, ",") {
		u, err := Parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		secret, ok := u.User.Password()
		if !ok { // nats://token@host: the user part is the token
			secret = u.User.Username()
		}
		// The spelling first: the longer, it is scrubbed whole before the
		// decoded secret could cut it.
		if spelt := spelt(raw, ok); spelt != secret && spelt != "" {
			out = append(out, spelt)
		}
		if secret != "" {
			out = append(out, secret)
		}
	}
	return out
}

// spelt is the secret of raw, an entry Parse read with user info (its
// password when hasPassword, else its user name, a token), as raw spells
// it, percent-encoding and all: url.Userinfo.String would encode it
// anew, perhaps otherwise.
func spelt(raw string, hasPassword bool) string {
	rest := afterScheme(raw)
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	userinfo := rest[:max(strings.LastIndex(rest, "@"), 0)]
	name, password, _ := strings.Cut(userinfo, ":")
	if hasPassword {
		return password
	}
	return name
}

// afterScheme is raw past its "scheme://"; all of it without one (a
// bare host:port entry).
func afterScheme(raw string) string {
	raw = strings.TrimSpace(raw)
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		return rest
	}
	return raw
}

// Scrub is text with each of secrets replaced by "[redacted]".
func Scrub(text string, secrets []string) string {
	for _, s := range secrets {
		text = strings.ReplaceAll(text, s, "[redacted]")
	}
	return text
}

// Parse reads one entry as nats.go does: a bare host:port is nats://.
// Its error never quotes the entry: url.Parse's quotes the whole URL, and
// its reason a piece of it, which may be a secret. A password or token
// with an unencoded "/", "?" or "#" is cut there, and its first part
// read as the host and port (nats://u:pa#ss@h: host "u", port "pa"), so
// an entry with an "@" but no user info is refused too, and so is one
// whose last "@" url.Parse read past the authority (atPastAuthority).
func Parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if !strings.Contains(raw, "://") {
		raw = "nats://" + raw
	}
	u, err := url.Parse(raw)
	switch {
	case strings.Contains(raw, "@") && err != nil && hostErr(raw) != nil:
		return nil, hostErr(raw) // user info aside: the fault is the host's (nats://u:p@[::1)
	case strings.Contains(raw, "@") && (err != nil || u.User == nil || atPastAuthority(raw)):
		return nil, ErrUserInfo
	case err != nil:
		return nil, errors.Unwrap(err) // no user info: the reason names a host or port
	}
	return u, nil
}

// hostErr is url.Parse's reason for raw without what comes before its
// last "@", or nil when that parses.
func hostErr(raw string) error {
	rest := afterScheme(raw)
	scheme := strings.TrimSuffix(raw, rest)
	_, err := url.Parse(scheme + rest[strings.LastIndex(rest, "@")+1:])
	return errors.Unwrap(err)
}

// atPastAuthority: raw's last "@" comes after a "/", "?" or "#" that
// ends the authority for url.Parse, so part of the user info was read as
// a path, a query or a fragment: nats://u:p@ss#word@h is user u,
// password p, host ss, fragment "word@h", and Strip showed "ss#word@h".
func atPastAuthority(raw string) bool {
	rest := afterScheme(raw)
	end := strings.IndexAny(rest, "/?#")
	return end >= 0 && strings.LastIndex(rest, "@") > end
}

// ErrUserInfo is Parse's error for user info (before the "@") that does
// not read as such.
var ErrUserInfo = errors.New("its user info does not parse: percent-encode a password's or a token's " +
	`"/" (%2F), "?" (%3F), "#" (%23), "%" (%25) and spaces (%20)`)
