package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/cliser/cliser/identity"
)

// An entry that does not decode, or whose key is not its own (bbolt keeps
// no checksum of its values: a flipped byte in a ban's value lifted the
// ban it was stored under, without a word), refuses the file, naming it,
// the key and the way on.
func TestLoadRefusesAnEntryThatIsNotItsKeys(t *testing.T) {
	for _, c := range []struct {
		name, bucket, key string
		value             func(t *testing.T) []byte
		says              string
	}{
		{"a ban under another's key", "bans", "cid/ban-me", func(t *testing.T) []byte {
			v, err := identity.EncodeBan(identity.Ban{Kind: identity.KindCID, Value: "ban-mX", By: identity.ByOperator, At: time.Now()})
			require.NoError(t, err)
			return v
		}, `ban "cid/ban-me": it holds the ban "cid/ban-mX"`},
		{"a credential under another's key", "credentials", "cred-1", func(t *testing.T) []byte {
			v, err := identity.EncodeCredential(identity.Credential{CID: "cred-X", Digest: identity.Digest([]byte("s")), CreatedAt: time.Now()})
			require.NoError(t, err)
			return v
		}, `credential "cred-1": it holds client ID "cred-X"`},
		{"a value that does not decode", "bans", "cid/ban-me", func(*testing.T) []byte { return []byte("{\x00") }, `ban "cid/ban-me": `},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := Open(dir)
			require.NoError(t, err)
			require.NoError(t, st.Close())
			path := filepath.Join(dir, FileName)
			db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
			require.NoError(t, err)
			require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(c.bucket)).Put([]byte(c.key), c.value(t)) }))
			require.NoError(t, db.Close())

			st, err = Open(dir)
			require.NoError(t, err)
			defer st.Close()
			_, _, err = st.Load(context.Background())
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), c.says)
			assert.Contains(t, err.Error(), "mv "+path+" "+path+".damaged")
			assert.Contains(t, err.Error(), "put back a backup")
		})
	}
}
