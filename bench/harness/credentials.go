package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/cliser/cliser/bench/load"
	"github.com/cliser/cliser/identity"
	"github.com/cliser/cliser/identity/boltstore"
)

// SeedCredentials enrolls the client IDs prefix0 … prefix(n-1) in the
// single-node store under dataDir (a `cliser serve --data-dir`, before the
// server starts), each with load.Secret(key, id) as its secret: what
// `cliser credentials add` would leave there, minus the 19,000 round trips
// and the secrets to pass to the load.
func SeedCredentials(dataDir, key, prefix string, n int) error {
	st, err := boltstore.Open(dataDir)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	cs := make([]identity.Credential, n)
	for i := range cs {
		id := fmt.Sprintf("%s%d", prefix, i)
		cs[i] = identity.Credential{CID: id, Digest: identity.Digest([]byte(load.Secret(key, id))), CreatedAt: now}
	}
	if err := st.PutCredentials(context.Background(), cs); err != nil {
		_ = st.Close()
		return err
	}
	return st.Close()
}
