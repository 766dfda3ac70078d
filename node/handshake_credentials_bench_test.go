package node_test

import (
	"context"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
	"github.com/cliser/cliser/internal/testnode"
	"github.com/cliser/cliser/node"
)

// BenchmarkHandshakeCredentials is BenchmarkHandshake with a credential
// for every client ID of the fleet, each client answering its own secret:
// the deferred check (IDENTITY.md) against benchFleet credentials. Its
// allocs/op beside BenchmarkHandshake's is what a credential costs a
// handshake in garbage, whatever the machine's load.
func BenchmarkHandshakeCredentials(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(50)) // serveGCPercent
	dir := b.TempDir()
	st, err := boltstore.Open(dir)
	require.NoError(b, err)
	now := time.Now().UTC()
	cs := make([]identity.Credential, benchFleet)
	ids := make([][]byte, benchFleet)
	for i := range cs {
		cid, secret := fmt.Sprintf("bench-%05d", i), fmt.Sprintf("secret-of-%05d", i)
		cs[i] = identity.Credential{CID: cid, Digest: identity.Digest([]byte(secret)), CreatedAt: now}
		ids[i] = fmt.Appendf(nil, "110 %s\n120 %s\n", secret, cid)
	}
	require.NoError(b, st.PutCredentials(context.Background(), cs))
	require.NoError(b, st.Close())
	n := testnode.Start(b, node.WithDataDir(dir), node.WithLogger(warnLogger()))
	require.True(b, n.Identity().Deferred(), "the credentials are loaded")
	runHandshakes(b, n, ids)
}
