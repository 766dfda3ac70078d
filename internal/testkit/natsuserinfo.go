package testkit

import "net/url"

// NATSUserInfo is the user info of a NATS URL as an operator may type
// it, for the fuzz targets of --cluster: user:secret, or the secret alone
// (a token) when user is ""; percent-encoded when encode, else as is, "/",
// "," and all.
func NATSUserInfo(user, secret string, encode bool) string {
	switch {
	case encode && user == "":
		return url.User(secret).String()
	case encode:
		return url.UserPassword(user, secret).String()
	case user == "":
		return secret
	}
	return user + ":" + secret
}
