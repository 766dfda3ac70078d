package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/admin"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/internal/testkit"
	"github.com/cliser/cliser/node"
	"github.com/cliser/cliser/node/nodetest"
	"github.com/cliser/cliser/protocol"
)

// IDENTITY.md: a banned IP or network gets no session. A connection
// accepted before an ip or net ban, still in its handshake when the ban
// came, answered 110 and 120 after it and was registered (140
// connected), and stayed: the ban's close had run before it registered.
func TestAddressBanMidHandshakeRefusesTheRegistration(t *testing.T) {
	n := nodetest.Start(t, node.WithDataDir(t.TempDir()))
	api, err := admin.NewClient("http://"+n.AdminAddr(), "", 5*time.Second)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, ban := range []admin.BanRequest{
		{Kind: identity.KindIP, Value: "127.0.0.1"},
		{Kind: identity.KindNet, Value: "127.0.0.0/8"},
	} {
		c := testkit.Dial(t, n.Addr())
		c.Expect("110 password")
		_, err := api.CreateBan(ctx, ban)
		require.NoError(t, err)
		c.Send("110 " + nodetest.Password + "\n120 mid-handshake\n")
		c.Expect("120 id")
		c.ExpectClosed("190 " + protocol.ReasonBanned.String())
		_, err = api.Get(ctx, "mid-handshake")
		require.Error(t, err, "%s ban: the client was registered", ban.Kind)
		require.NoError(t, api.DeleteBan(ctx, ban.Kind, ban.Value))
	}
}
