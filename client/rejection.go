package client

import (
	"fmt"
	"time"

	"github.com/cliser/cliser/protocol"
)

// rejection is the one log line for a close that retrying soon cannot fix
// (backoffLong): what the server said, what the operator should check, and
// when the next try is, so the long wait that follows is not a silence.
// source names where the password came from ("" when unknown); reread
// says it is read again before each try (Config.ReadPassword); withCert
// that the client presents a certificate, whose CN a server with
// --require-cert-cn holds to the client ID.
func rejection(reason protocol.Reason, source string, reread, withCert bool, wait time.Duration) string {
	password, revoked := "the password", "give the client its new one"
	if source != "" {
		password = "the password in " + source
	}
	if reread {
		password += " (read again before each try)"
		if source != "" {
			revoked = "put its new one in " + source + " (read again before each try)"
		}
	}
	var advice string
	switch reason {
	case protocol.ReasonAuthFailed:
		advice = "the server refused the password (190 auth failed): check " + password +
			", or this ID's own secret if it was given one (cliser credentials)"
		if withCert {
			advice = "the server refused the password or the client certificate (190 auth failed): check " + password +
				", this ID's own secret if it was given one (cliser credentials), and that the client certificate's CN" +
				" is this ID (a server with --require-cert-cn)"
		}
	case protocol.ReasonTooManyAttempts:
		// Behind NAT the wrong passwords may be another device's.
		advice = "the server refuses this address for a while after too many wrong passwords from it, this client's " +
			"or another's at the same address (190 too many attempts): check " + password + " here and on the others"
	case protocol.ReasonBadID:
		advice = "the server refused this client ID (190 bad id): check the ID"
	case protocol.ReasonBanned:
		// The client cannot tell whose ban: a flapping one is the likelier
		// surprise, two devices sharing this ID.
		advice = "this ID, address or network is banned (190 banned), by an operator or by the server for flapping" +
			" (this ID registering over and over: two devices sharing it?): see cliser bans list"
	case protocol.ReasonRevoked:
		// Without its credential the ID is on the shared-password rule
		// again, unless the server has --require-credentials.
		advice = "an operator revoked this ID's secret (190 revoked): " + revoked +
			", or the fleet's shared password if the server admits this ID without a secret of its own"
	default:
		advice = fmt.Sprintf("the server rejected this client (190 %s): check the password and ID", reason)
	}
	return fmt.Sprintf("%s; next try in %s", advice, roundWait(wait))
}

// roundWait is wait to the second, or to the millisecond under one (a
// --backoff-max under 1s printed "next try in 0s").
func roundWait(wait time.Duration) time.Duration {
	if wait < time.Second {
		return wait.Round(time.Millisecond)
	}
	return wait.Round(time.Second)
}
