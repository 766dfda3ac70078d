package admin_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
)

// An address written as a listen address (":7071", "0.0.0.0:7071",
// "[::]:7071") is dialled on this host, as defaultAdmin reads
// CLISER_ADMIN_LISTEN: the CLI warned that the token went over the
// network in clear (review of the security audit's warning). Another
// host by http:// is still warned of; https:// never.
func TestClientSendsTokenInClearOnlyBeyondThisHost(t *testing.T) {
	for base, clear := range map[string]bool{
		"http://127.0.0.1:7071": false, "localhost:7071": false, "http://[::1]:7071": false,
		":7071": false, "0.0.0.0:7071": false, "http://[::]:7071": false,
		"http://10.0.0.5:7071": true, "admin.example:7071": true, "https://10.0.0.5:7071": false,
	} {
		c, err := admin.NewClient(base, "tok", time.Second)
		require.NoError(t, err, base)
		assert.Equal(t, clear, c.SendsTokenInClear(), base)
	}
}
