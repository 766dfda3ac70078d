package reactor

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/protocol"
)

// SetPasswords swaps the accepted set under running loops: a client
// registered with a removed password stays, the new one is accepted and
// the removed one refused.
func TestSetPasswordsSwapsWithoutDroppingClients(t *testing.T) {
	srv := startServer(t, WithKeepAlive(50*time.Millisecond, 2*time.Second))
	old := srv.connect(t, "kept-1")

	require.ErrorIs(t, srv.SetPasswords(nil), ErrNoPassword)
	require.NoError(t, srv.SetPasswords([][]byte{[]byte("n3w-one"), []byte("n3w-two")}))

	fresh := srv.dial(t)
	fresh.Handshake("n3w-two", "fresh-1")
	refused := srv.dial(t)
	refused.Expect("110 password")
	refused.Send("110 " + testPassword + "\n")
	refused.ExpectClosed(closeLine(protocol.ReasonAuthFailed))

	// The client that came in with the old password is still served.
	old.EchoKeepAlive()
	old.EchoKeepAlive()
	rec, ok := srv.reg.Get("kept-1")
	require.True(t, ok)
	require.True(t, rec.CStatus, "the old password's client was dropped")
}

// Swaps racing password checks on every loop: for the race detector.
func TestSetPasswordsRacesChecks(t *testing.T) {
	srv := startServer(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_ = srv.SetPasswords([][]byte{[]byte(testPassword)})
			}
		}
	}()
	for i := range 20 {
		srv.connect(t, "race-"+itoa(i))
	}
	close(stop)
	wg.Wait()
}
