package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cliser/cliser/protocol"
)

// A ban names both who may have made it: a flapping ban is the server's,
// and said to be an operator's it sent the person who shares an ID with
// another device the wrong way. A wait under a second is not "0s".
func TestRejectionNamesBothBansAndEveryWait(t *testing.T) {
	line := rejection(protocol.ReasonBanned, "", false, false, 40*time.Second)
	assert.Contains(t, line, "by an operator or by the server for flapping")
	assert.Contains(t, line, "see cliser bans list; next try in 40s")
	for wait, want := range map[time.Duration]string{
		180 * time.Millisecond:   "next try in 180ms",
		1499 * time.Millisecond:  "next try in 1s",
		51139 * time.Millisecond: "next try in 51s",
	} {
		assert.Contains(t, rejection(protocol.ReasonAuthFailed, "", false, false, wait), want)
	}
}

// "too many attempts" may be another device's doing behind a NAT: it
// sent one with the right password to check it alone (agent audit).
func TestRejectionTooManyAttemptsNamesTheOthersAtTheAddress(t *testing.T) {
	line := rejection(protocol.ReasonTooManyAttempts, "", false, false, time.Minute)
	assert.Contains(t, line, "this client's or another's at the same address")
	assert.Contains(t, line, "here and on the others")
}

// A revoked secret leaves the ID on the shared-password rule
// (docs/identity.md): the line named only a new secret, and an operator
// who had removed the credential to go back to the shared password read
// that the device needed one (runbook audit).
func TestRejectionRevokedNamesTheSharedPasswordToo(t *testing.T) {
	line := rejection(protocol.ReasonRevoked, "--password-file /etc/cliser/password", true, false, time.Minute)
	assert.Contains(t, line, "put its new one in --password-file /etc/cliser/password (read again before each try)")
	assert.Contains(t, line, "or the fleet's shared password if the server admits this ID without a secret of its own")
}
