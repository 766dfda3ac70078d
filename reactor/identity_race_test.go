package reactor

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/protocol"
	"github.com/cliser/cliser/registry"
)

// changeAfterAdmit is the identity service with an operator's change
// made between a registration's check (Admit, which answers from the state
// before it) and the registration: the change's close finds no session of
// the client ID yet. A black-box storm saw it: a client registered at the
// moment of a ban stayed connected until the ban was lifted (1 of 200
// bans of an ID registering in a loop).
type changeAfterAdmit struct {
	*identity.Service
	once   sync.Once
	change func()
}

func (c *changeAfterAdmit) Admit(cid string, secret *[32]byte, shared bool) protocol.Reason {
	r := c.Service.Admit(cid, secret, shared)
	c.once.Do(c.change)
	return r
}

// IDENTITY.md: an operator's ban closes every live matching session, and a
// deleted credential its live session, within 1 s. A session admitted
// just before the change and registered just after it got away. (An ip
// or net ban's close runs on the event loops, after any registration
// under way there: no such gap.)
func TestChangeBetweenCheckAndRegistrationStillCloses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason protocol.Reason
		setup  func(ids *identity.Service) (password string, change func())
	}{
		{"cid ban", protocol.ReasonBanned, func(ids *identity.Service) (string, func()) {
			return testPassword, func() {
				_, err := ids.AddBan(context.Background(), identity.KindCID, "dev", "", 0)
				require.NoError(t, err)
			}
		}},
		{"credential deleted", protocol.ReasonRevoked, func(ids *identity.Service) (string, func()) {
			secret, _, err := ids.Enroll(context.Background(), "dev", 0)
			require.NoError(t, err)
			return secret, func() { require.NoError(t, ids.DeleteCredential(context.Background(), "dev")) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := registry.New()
			closer := func(cid string, r protocol.Reason) {
				if conn, err := reg.Conn(cid); err == nil {
					_ = conn.Close(r)
				}
			}
			ids := startIdentity(t, identity.WithCloser(closer))
			pw, change := tc.setup(ids)
			srv := startServerWithRegistry(t, reg, WithIdentity(&changeAfterAdmit{Service: ids, change: change}))
			c := srv.dial(t)
			c.Send("110 " + pw + "\n120 dev\n")
			c.Expect("110 password")
			c.Expect("120 id")
			line := c.ReadLine()
			require.True(t, strings.HasPrefix(line, "140 "), "want 140, got %q", line)
			c.ExpectClosed(closeLine(tc.reason))
		})
	}
}
